"""What the fulfilment-side monitors share: windowed counters, switches, customer time zones, outbox rows.

- Counters live in the guardrail usage table under ``monitor|...`` keys, one row per fixed window (aligned
  to the Unix epoch, like guardrail periods), so a failure rate over a window is two reads. Only the
  window ``now`` falls in is ever read: the usage retention sweep deletes the others once they are old
  enough (services/usage_retention.py).
- A switch (carrier moved to its fallback, email degraded) is a pending timer: it is on while the timer
  waits and ends when it fires, so it needs no table and cannot be left on by a crash.
- A customer's time zones come from the shipping address: the zone of the province for countries that
  span several, else the country's zones, else the shop's zone (see docs/playbooks/delayed-fulfilment.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from opsdesk.domain.events import OrderId, ShippingAddress, ShopDomain
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import SendResult, action_id, idempotency_key
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import AuditEntry, DecisionRecord, OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.ports.connectors import OutcomeHook

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How the key of every windowed counter begins: ``monitor|<counter>|<window start, Unix seconds>``.
PREFIX = "monitor|"


def window_start(now: datetime, length: timedelta) -> datetime:
    return EPOCH + (now - EPOCH) // length * length


def window_started(key: str) -> int | None:
    """When the window a counter's key names began, in Unix seconds; None for a key that is not a counter's."""
    stamp = key.rsplit("|", 1)[-1]
    return int(stamp) if key.startswith(PREFIX) and stamp.isascii() and stamp.isdigit() else None


def _key(counter: str, now: datetime, length: timedelta) -> str:
    return f"{PREFIX}{counter}|{int(window_start(now, length).timestamp())}"


def count(uow: UnitOfWork, key: str, now: datetime, length: timedelta, by: int = 1) -> int:
    """Add ``by`` to a windowed counter; returns the window's count after it."""
    full = _key(key, now, length)
    current = uow.usage.get_many([full]).get(full, Usage())
    total = current.count + by
    uow.usage.put_many({full: Usage(total, current.amount)})
    return total


def count_many(uow: UnitOfWork, by: Mapping[str, int], now: datetime, length: timedelta) -> dict[str, int]:
    """``count`` for several counters of one window at once (one read, one write); each count after it."""
    full = {key: _key(key, now, length) for key in by}
    current = uow.usage.get_many(full.values())
    after = {key: Usage(current.get(name, Usage()).count + by[key], current.get(name, Usage()).amount)
             for key, name in full.items()}
    uow.usage.put_many({full[key]: usage for key, usage in after.items()})
    return {key: usage.count for key, usage in after.items()}


def read(uow: UnitOfWork, keys: Iterable[str], now: datetime, length: timedelta) -> list[int]:
    full = [_key(key, now, length) for key in keys]
    found = uow.usage.get_many(full)
    return [found.get(k, Usage()).count for k in full]


def switched(uow: UnitOfWork, subject: str, kind: str) -> Timer | None:
    """The pending timer that holds a switch on, or None when the switch is off."""
    return next((t for t in uow.timers.pending(subject) if t.kind == kind), None)


def pending_timers(uow: UnitOfWork, subjects: Iterable[str], kind: str) -> dict[str, Timer]:
    """In one read, by subject, the first pending timer of ``kind`` (``switched`` for many switches at once)."""
    found = uow.timers.pending_many(subjects)
    return {s: on for s, timers in found.items() if (on := next((t for t in timers if t.kind == kind), None))}


def audit(uow: UnitOfWork, now: datetime, action: str, subject: str, after: dict[str, Any]) -> None:
    uow.audit.record([AuditEntry(now, "automation", action, subject, None, after)])


def record_decision(
    uow: UnitOfWork, decision: str, shop: str, order_id: int | None, playbook: str, rule: str, outcome: str,
    reason: str, inputs: dict[str, Any], now: datetime,
) -> None:
    """A monitor's decision in the order's history (``GET /api/v1/orders/{id}``), beside the playbooks' ones."""
    uow.decisions.add_many([DecisionRecord(
        id=decision, shop=shop, delivery_id=None, order_id=order_id, event_name=f"monitor.{playbook}",
        event_key=decision, playbook=playbook, rule_id=rule, policy_version="-", outcome=outcome, reason=reason,
        inputs=inputs, decided_at=now)])


def outbox_action(
    decision: str, index: int, kind: str, provider: str, state: OrderState | None, shop: str,
    payload: dict[str, Any], now: datetime,
) -> OutboxAction:
    """An outbox row with the id and idempotency key derived from ``decision`` and ``index``, filed under
    ``fit_id(decision)``: the ids come from the whole name, so that none changes where it is shortened."""
    aid = action_id(decision, index)
    return OutboxAction(
        id=aid, decision_id=fit_id(decision), shop=shop, order_id=state.order_id if state else None, kind=kind,
        provider=provider, payload=payload, idempotency_key=idempotency_key(aid), created_at=now,
        next_attempt_at=now,
    )


def customer_email(
    decision: str, index: int, state: OrderState, template: str, now: datetime, provider: str = "smtp",
    **fields: str,
) -> OutboxAction | None:
    """A templated email to the order's customer, or None when the order has no address to write to."""
    snap = state.snapshot
    if snap is None or "@" not in snap.email:
        return None
    payload = {"to": snap.email, "template": template, "order_name": snap.name, "customer": True,
               "shop": state.shop, "order_id": state.order_id, **fields}
    return outbox_action(decision, index, "email", provider, state, state.shop, payload, now)


def chain(*hooks: OutcomeHook) -> OutcomeHook:
    """Several outcome hooks on one action kind: each sees the outcome; any one may take charge of it (the first
    case one of them opened for it is the one named)."""

    def run(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool | str:
        taken = [hook(uow, action, result, now) for hook in hooks]
        return next((t for t in taken if isinstance(t, str) and t), any(taken))

    return run


def find_order(uow: UnitOfWork, shop: str, order_id: int | None) -> OrderState | None:
    return uow.orders.find(ShopDomain(shop), OrderId(order_id)) if order_id is not None else None


def address_dict(address: ShippingAddress | None) -> dict[str, str]:
    if address is None:
        return {}
    return {"name": address.name, "street1": address.street1, "street2": address.street2,
            "city": address.city, "state": address.province_code, "zip": address.zip,
            "country": address.country_code, "phone": address.phone}


# -- customer time zones ---------------------------------------------------------------------------

#: Countries spanning several zones: the zones of their provinces (ISO 3166-2 subdivision codes).
PROVINCE_ZONES: Mapping[str, Mapping[str, str]] = {
    "US": {**dict.fromkeys(("CT", "DE", "DC", "FL", "GA", "IN", "KY", "ME", "MD", "MA", "MI", "NH", "NJ", "NY",
                            "NC", "OH", "PA", "RI", "SC", "VT", "VA", "WV"), "America/New_York"),
           **dict.fromkeys(("AL", "AR", "IL", "IA", "KS", "LA", "MN", "MS", "MO", "NE", "ND", "OK", "SD", "TN",
                            "TX", "WI"), "America/Chicago"),
           **dict.fromkeys(("CO", "ID", "MT", "NM", "UT", "WY"), "America/Denver"),
           "AZ": "America/Phoenix", "AK": "America/Anchorage", "HI": "Pacific/Honolulu",
           **dict.fromkeys(("CA", "NV", "OR", "WA"), "America/Los_Angeles")},
    "CA": {"NL": "America/St_Johns", **dict.fromkeys(("NS", "NB", "PE"), "America/Halifax"),
           **dict.fromkeys(("QC", "ON", "NU"), "America/Toronto"), "MB": "America/Winnipeg",
           "SK": "America/Regina", **dict.fromkeys(("AB", "NT"), "America/Edmonton"),
           **dict.fromkeys(("BC", "YT"), "America/Vancouver")},
    "AU": {**dict.fromkeys(("NSW", "ACT", "VIC", "TAS"), "Australia/Sydney"), "QLD": "Australia/Brisbane",
           "SA": "Australia/Adelaide", "NT": "Australia/Darwin", "WA": "Australia/Perth"},
}
#: Every country in the table: its zones (all of them matter when the province is unknown).
COUNTRY_ZONES: Mapping[str, tuple[str, ...]] = {
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "CA": ("America/Halifax", "America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver"),
    "AU": ("Australia/Sydney", "Australia/Adelaide", "Australia/Brisbane", "Australia/Perth"),
    "BR": ("America/Sao_Paulo", "America/Manaus"), "MX": ("America/Mexico_City", "America/Tijuana"),
    "GB": ("Europe/London",), "IE": ("Europe/Dublin",), "FR": ("Europe/Paris",), "DE": ("Europe/Berlin",),
    "ES": ("Europe/Madrid",), "IT": ("Europe/Rome",), "NL": ("Europe/Amsterdam",), "BE": ("Europe/Brussels",),
    "AT": ("Europe/Vienna",), "CH": ("Europe/Zurich",), "SE": ("Europe/Stockholm",), "NO": ("Europe/Oslo",),
    "DK": ("Europe/Copenhagen",), "FI": ("Europe/Helsinki",), "PL": ("Europe/Warsaw",), "PT": ("Europe/Lisbon",),
    "CZ": ("Europe/Prague",), "GR": ("Europe/Athens",), "JP": ("Asia/Tokyo",), "KR": ("Asia/Seoul",),
    "CN": ("Asia/Shanghai",), "HK": ("Asia/Hong_Kong",), "SG": ("Asia/Singapore",), "IN": ("Asia/Kolkata",),
    "AE": ("Asia/Dubai",), "IL": ("Asia/Jerusalem",), "ZA": ("Africa/Johannesburg",),
    "NZ": ("Pacific/Auckland",),
}


def customer_zones(
    address: ShippingAddress | None, country: str, shop_zone: str, overrides: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """The zones a customer may be in: configured override, province, country, else the shop's zone."""
    code = (address.country_code if address and address.country_code else country).upper()
    if code in overrides:
        return tuple(overrides[code])
    province = (address.province_code if address else "").upper()
    if province and province in PROVINCE_ZONES.get(code, {}):
        return (PROVINCE_ZONES[code][province],)
    return COUNTRY_ZONES.get(code, (shop_zone,))


def quiet_until(zones: Sequence[str], quiet: tuple[str, str], now: datetime) -> datetime | None:
    """When quiet hours have ended in every one of ``zones``, if ``now`` is inside them in any; else None."""
    start, end = (time.fromisoformat(v) for v in quiet)
    at = now
    for _ in range(len(zones) + 1):  # waking one zone may land in another's quiet hours: look again
        ends = [e for zone in zones if (e := _quiet_end(ZoneInfo(zone), start, end, at)) is not None]
        if not ends:
            return None if at == now else at
        at = max(ends)
    return at


def _quiet_end(zone: ZoneInfo, start: time, end: time, now: datetime) -> datetime | None:
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (clock >= start or clock < end) if overnight else (start <= clock < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if overnight and clock >= start else local.date()
    return datetime.combine(day, end, zone).astimezone(UTC)


def decimal_seconds(moment: datetime) -> Decimal:
    return Decimal(int(moment.timestamp()))
