"""Discount guardrails at work: watch discounts and orders, pause a bad discount, open a ``pricing`` case.

Three detectors feed one incident per discount (see ``domain/discounts.py``):

- the preflight, when a discount's terms have been read from the Admin API (``inspect_pending``; the
  ``discounts/*`` webhooks carry only the id, title and status);
- the margin guard, on every order (``DiscountGuard.watch``, a pipeline watcher, in the batch's
  transaction): an effective discount above the maximum, a line below its cost floor;
- the rate detectors, on every new order: the shop's discount share of revenue against its rolling
  baseline, and each code's use (a spike, a leak to new accounts).

When the policy allows it for what was found, the discount is paused at once: a ``deactivate_discount``
outbox action written in the same transaction, sent by the outbox like any other effect. A ``pricing``
case opens with the money at risk so far; later bad orders add to the incident, never a second pause or
case. The pause time is read from the pause action's outcome, so the time from the first bad order to
the pause is known for every incident (``list_incidents``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from opsdesk.domain.discounts import (
    ZERO,
    DiscountIncident,
    DiscountRecord,
    DiscountTerms,
    GuardPolicy,
    Line,
    OrderCheck,
    RateWindow,
    Violation,
    baseline,
    check_order,
    code_abuse,
    preflight,
    rate_anomaly,
    unusual_use,
    window_start,
)
from opsdesk.domain.errors import NotFound, Unavailable
from opsdesk.domain.events import (
    DiscountChange,
    DiscountChanged,
    InventoryItemChanged,
    OrderChange,
    OrderChanged,
    OrderSnapshot,
    StoreEvent,
)
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import action_id, idempotency_key
from opsdesk.domain.records import AuditEntry, CaseRecord, OutboxAction
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.discount_batch import SHOP_WIDE, BatchState
from opsdesk.services.discount_incidents import (
    code_audit_subject,
    code_subject,
    counted_before,
    current_incident,
    incident_key,
    incident_summary,
    list_incidents,
    short_id,
)

PLAYBOOK = "discount-guard"


class TermsReader(Protocol):
    """Reads a discount's terms from the store (``ShopifyAdmin.discount_terms``)."""

    def discount_terms(self, shop: str, discount_gid: str) -> dict[str, Any]: ...


VIOLATIONS = frozenset(v.value for v in Violation)


@dataclass(frozen=True)
class DiscountGuard:
    policy: GuardPolicy
    hooks_provider: Callable[[], CaseHooks]
    owner: str = "team:ops"
    queue: str = "pricing"
    priority: str = "high"

    # -- the pipeline watcher ------------------------------------------------------------------------

    def watch(
        self, uow: UnitOfWork, events: Sequence[StoreEvent], states: Mapping[Any, OrderState], now: datetime
    ) -> None:
        """Take note of discounts and check orders: the pipeline calls this once per batch."""
        windows = BatchState(uow)
        windows.read_costs(self._skus_to_cost(events))
        for event in events:
            if isinstance(event, DiscountChanged):
                self._heard(uow, event, now)
                windows.discounts_changed(event.shop)
            elif isinstance(event, OrderChanged) and event.order.cancelled_at is None:
                self._order(uow, event, windows, now)
            elif isinstance(event, InventoryItemChanged) and event.cost is not None and event.sku:
                uow.discounts.put_cost(event.shop, event.sku, event.cost, event.occurred_at)
                windows.cost_changed(event.shop, event.sku)
        windows.flush()

    def _skus_to_cost(self, events: Sequence[StoreEvent]) -> dict[str, set[str]]:
        """By shop, the SKUs whose recorded cost the batch's orders need (one read for them all)."""
        wanted: dict[str, set[str]] = {}
        for event in events:
            if isinstance(event, OrderChanged) and event.order.cancelled_at is None:
                skus = (li.sku for li in event.order.line_items if li.sku and li.sku not in self.policy.costs)
                wanted.setdefault(event.shop, set()).update(skus)
        return wanted

    def _heard(self, uow: UnitOfWork, event: DiscountChanged, now: datetime) -> None:
        known = uow.discounts.find(event.shop, event.discount_gid)
        if known is not None and known.seen_at > event.occurred_at:
            return  # a stale delivery: a newer change was heard already
        deleted = event.change is DiscountChange.DELETED
        status = "DELETED" if deleted else (event.status or (known.status if known else ""))
        base = known or DiscountRecord(event.shop, event.discount_gid, event.title, status, event.occurred_at)
        # Every create or update is read again: the terms may have changed with it.
        record = replace(
            base,
            title=event.title or base.title,
            status=status,
            seen_at=event.occurred_at,
            needs_terms=not deleted,
        )
        uow.discounts.put(record)
        # Orders may name a discount (by title) before its webhook arrives: now it can be paused.
        _, waiting = current_incident(uow, short_id("disc", event.shop, incident_key(record)))
        if waiting is not None and waiting.pause_action_id is None:
            found = {Violation(v) for v in waiting.violations if v in VIOLATIONS}
            self._act(uow, replace(waiting, discount_gid=record.gid), found, record, now)

    def _order(self, uow: UnitOfWork, event: OrderChanged, windows: BatchState, now: datetime) -> None:
        snap = event.order
        lines = [Line(li.sku, li.quantity, li.price, li.total_discount) for li in snap.line_items]
        # Costs from the store's inventory items; a cost in the configuration overrides them.
        recorded = windows.costs(
            event.shop, [li.sku for li in lines if li.sku and li.sku not in self.policy.costs]
        )
        policy = replace(self.policy, costs={**recorded, **self.policy.costs}) if recorded else self.policy
        check = check_order(lines, snap.total_discounts.amount, policy)
        record = self._attributed(windows, event.shop, snap)
        if check.violations:
            self._bad_order(uow, event.shop, snap, check, record, now)
        if event.change is OrderChange.CREATED:
            self._count(uow, windows, event.shop, snap, check, record, now)

    def _attributed(self, windows: BatchState, shop: str, snap: OrderSnapshot) -> DiscountRecord | None:
        """The known discount the order used (by title or code), the first one if several."""
        applied = [*snap.applied_discounts, *snap.discount_codes]
        known = windows.discounts(shop) if applied else []
        return next((d for name in applied for d in known if d.matches(name)), None)

    def _bad_order(
        self,
        uow: UnitOfWork,
        shop: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        applied = (*snap.applied_discounts, *snap.discount_codes)
        subject = (
            incident_key(record) if record else (applied[0].strip().casefold() if applied else "(manual)")
        )
        name = record.title if record else (applied[0] if applied else "(manual)")
        base = short_id("disc", shop, subject)
        if counted_before(uow, base, snap.id):
            return  # a later update of an order an earlier, finished incident counted
        incident = self._incident(uow, base, shop, record, name, "glitch", now)
        incident = incident.with_order(snap.id, snap.created_at, check)
        incident = replace(incident, currency=incident.currency or snap.currency)
        # Not known by its id (no discounts/* webhook yet, or created before opsdesk): a code can name it.
        code = "" if record else next((c for c in snap.discount_codes if c.strip().casefold() == subject), "")
        self._act(uow, incident, set(check.violations), record, now, code=code)

    def _count(
        self,
        uow: UnitOfWork,
        windows: BatchState,
        shop: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        """Add a new order to the shop's and its codes' windows, and look for a rate anomaly or abuse."""
        start = window_start(snap.created_at, self.policy.window)
        new = (
            snap.customer_created_at is not None
            and snap.created_at - snap.customer_created_at <= self.policy.new_account_age
        )
        revenue = check.gross - check.discount
        since = start - self.policy.window * self.policy.baseline_windows
        # The history first: read from ``since`` on, it holds the current window too (one read for both).
        history = windows.shares_before(shop, since, start)
        current = windows.get(shop, SHOP_WIDE, start).add(revenue, check.discount, new, snap.created_at)
        windows.put(current)
        if rate_anomaly(history, current.share, current.orders, self.policy, windows.baseline(shop, since, start)):
            self._rate(uow, shop, snap, current, history, record, now)
        for code in snap.discount_codes:
            subject = code_subject(code)
            window = windows.get(shop, subject, start).add(revenue, check.discount, new, snap.created_at)
            windows.put(window)
            # Many uses are a spike only above the code's usual share of the orders (read only then).
            unusual = window.orders > self.policy.code_max_uses and unusual_use(
                windows.use_before(shop, subject, since, start), Decimal(window.orders) / current.orders, self.policy
            )
            why = code_abuse(window.orders, window.new_customers, self.policy, unusual)
            if why:
                self._abuse(uow, shop, code, snap, check, window, why, now)

    def _rate(
        self,
        uow: UnitOfWork,
        shop: str,
        snap: OrderSnapshot,
        window: RateWindow,
        history: list[Decimal],
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        iid = short_id("rate", shop, window.start.isoformat())
        if uow.discounts.find_incident(iid) is not None:
            return  # one incident per window: the case is open already
        middle = baseline(history)[0]
        expected = middle * (window.revenue + window.discount)
        incident = self._incident(
            uow, iid, shop, record, record.title if record else "(shop-wide)", "rate", now
        )
        incident = replace(
            incident,
            currency=snap.currency,
            first_bad_order_at=window.first_at,
            money_at_risk=max(ZERO, window.discount - expected),
            violations=(Violation.RATE_ANOMALY.value,),
        )
        self._act(
            uow,
            incident,
            {Violation.RATE_ANOMALY},
            record,
            now,
            f"discount share {window.share:.1%} of revenue against a baseline of {middle:.1%}",
        )

    def _abuse(
        self,
        uow: UnitOfWork,
        shop: str,
        code: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        window: RateWindow,
        why: str,
        now: datetime,
    ) -> None:
        record = next((d for d in uow.discounts.for_shop(shop) if d.matches(code)), None)
        incident = self._incident(
            uow, short_id("abuse", shop, code.strip().casefold()), shop, record, code, "code_abuse", now
        )
        if incident.bad_orders:
            # Every discount given through an abused code is at risk, not only a share above a maximum.
            incident = incident.with_order(snap.id, snap.created_at, replace(check, excess=check.discount))
        else:  # caught on this order: the whole window that shows the abuse is at risk
            incident = replace(
                incident,
                money_at_risk=window.discount,
                first_bad_order_at=window.first_at,
                bad_orders=(snap.id,),
                violations=(Violation.CODE_ABUSE.value,),
            )
        incident = replace(incident, currency=snap.currency)
        self._act(uow, incident, {Violation.CODE_ABUSE}, record, now, f"code {code}: {why}", code=code)

    # -- the preflight, after the terms are read -----------------------------------------------------

    def checked(
        self, uow: UnitOfWork, read: DiscountRecord, terms: DiscountTerms | None, now: datetime
    ) -> None:
        """Store what the Admin API said about a discount and run the preflight on it."""
        current = uow.discounts.find(read.shop, read.gid) or read
        again = current.seen_at > read.seen_at  # changed again while we were reading: read once more
        # A kind of discount the query does not read (buy X get Y, free shipping, app) comes back without
        # its title and status: keep what the webhook said rather than forget them.
        if terms is not None:
            terms = replace(terms, title=terms.title or current.title, status=terms.status or current.status)
        status = terms.status if terms else "DELETED"
        violations = preflight(terms, self.policy) if terms else ()
        uow.discounts.put(
            replace(
                current,
                terms=terms,
                status=status,
                needs_terms=again,
                checked_at=now,
                title=terms.title if terms else current.title,  # never empty: see above
                violations=tuple(v.value for v in violations),
            )
        )
        if violations and terms is not None:
            record = replace(current, terms=terms, status=status)
            iid = short_id("disc", read.shop, incident_key(record))
            incident = self._incident(uow, iid, read.shop, record, record.title, "preflight", now)
            incident = replace(
                incident,
                violations=tuple(dict.fromkeys((*incident.violations, *(v.value for v in violations)))),
            )
            self._act(uow, incident, set(violations), record, now)

    # -- incidents, pauses and cases -----------------------------------------------------------------

    def _incident(
        self,
        uow: UnitOfWork,
        iid: str,
        shop: str,
        record: DiscountRecord | None,
        name: str,
        kind: str,
        now: datetime,
    ) -> DiscountIncident:
        """The subject's incident as recorded so far, or a new one; it learns the discount's id once known."""
        iid, found = current_incident(uow, iid)
        if found is not None:
            return replace(found, discount_gid=found.discount_gid or (record.gid if record else ""))
        return DiscountIncident(iid, shop, record.gid if record else "", name, kind, detected_at=now)

    def _act(
        self,
        uow: UnitOfWork,
        incident: DiscountIncident,
        found: set[Violation],
        record: DiscountRecord | None,
        now: datetime,
        note: str = "",
        *,
        code: str = "",
    ) -> None:
        """Pause the discount if the policy allows it and it is not paused yet; open the case once.

        A discount not known by its id is paused by ``code``, the code the orders redeemed it with, when
        there is one: the connector looks the discount up by it (an automatic discount has none)."""
        known = record is not None and record.status.upper() not in ("EXPIRED", "DELETED")
        if incident.pause_action_id is None and (known or (record is None and code)) and found & self.policy.pause_on:
            incident = replace(incident, pause_action_id=self._pause(uow, incident, record, now, code))
        if incident.case_id is None:
            paused = (
                ("paused" if record is not None else f"paused by its code {code}")
                if incident.pause_action_id
                else "not paused: the discount is not known yet"
                if record is None
                else "not paused (policy)"
            )
            why = note or ", ".join(sorted(v.value.replace("_", " ") for v in found))
            incident = replace(
                incident, case_id=self._case(uow, incident, found, f"{why}; {paused}", now, code,
                                             _name(record) if record is not None else code or incident.title)
            )
        uow.discounts.put_incident(incident)

    def _pause(
        self, uow: UnitOfWork, incident: DiscountIncident, record: DiscountRecord | None, now: datetime,
        code: str = "",
    ) -> str:
        aid = action_id(incident.id, 0)
        payload = {
            "shop": incident.shop,
            "order_id": None,
            "discount_id": record.gid if record is not None else "",
            **({"code": code} if record is None else {"discount_name": _name(record)}),
            "incident": incident.id,
            "playbook_owner": self.owner,
        }
        uow.outbox.add_many(
            [
                OutboxAction(
                    aid,
                    incident.id,
                    incident.shop,
                    None,
                    "deactivate_discount",
                    "shopify",
                    payload,
                    idempotency_key(aid),
                    now,
                    now,
                )
            ]
        )
        uow.audit.record(
            [
                AuditEntry(
                    now,
                    PLAYBOOK,
                    "discount.pause",
                    f"discount:{record.gid}" if record is not None else code_audit_subject(code),
                    after={"incident": incident.id, "action": aid},
                )
            ]
        )
        return aid

    def _case(
        self,
        uow: UnitOfWork,
        incident: DiscountIncident,
        found: set[Violation],
        note: str,
        now: datetime,
        code: str = "",
        name: str = "",
    ) -> str:
        what = ", ".join(sorted(v.value.replace("_", " ") for v in found))
        money = f"{incident.money_at_risk:.2f} {incident.currency}".strip()
        record = CaseRecord(
            id=incident.id,
            shop=incident.shop,
            kind="discount",
            queue=self.queue,
            title=f"Discount {incident.title!r}: {what}",
            reason=f"{note}; money at risk so far {money}",
            opened_at=now,
            source=f"{PLAYBOOK}:{incident.id}",
            priority=self.priority,
            detail={
                "playbook": PLAYBOOK,
                "incident": incident.id,
                "discount_id": incident.discount_gid,
                "discount_name": name,
                **({"code": code} if code else {}),
                "violations": sorted(v.value for v in found),
                "money_at_risk": str(incident.money_at_risk),
                "currency": incident.currency,
                "bad_orders": list(incident.bad_orders),
                "pause_action": incident.pause_action_id,
            },
        )
        return open_case(uow, record, self.hooks_provider(), now).id


def inspect_pending(
    db: Database, reader: TermsReader, guard: DiscountGuard, now: Callable[[], datetime], limit: int = 20
) -> int:
    """Read the terms of the discounts heard of since the last round and run the preflight on them.

    The Admin API is called outside any transaction; a discount whose terms cannot be read now stays
    pending for the next round. Returns how many were checked.
    """
    with db.unit_of_work(read_only=True) as uow:
        pending = uow.discounts.needing_terms(limit)
    checked = 0
    for record in pending:
        try:
            terms: DiscountTerms | None = terms_from_admin(reader.discount_terms(record.shop, record.gid))
        except NotFound:
            terms = None
        except Unavailable:
            _tried(db, record, now())
            continue
        with db.unit_of_work() as uow:
            guard.checked(uow, record, terms, now())
            uow.commit()
        checked += 1
    return checked


def _tried(db: Database, record: DiscountRecord, at: datetime) -> None:
    """Note a failed read: the discount stays pending, behind those not tried yet."""
    with db.unit_of_work() as uow:
        current = uow.discounts.find(record.shop, record.gid)
        if current is not None and current.needs_terms:
            uow.discounts.put(replace(current, checked_at=at))
            uow.commit()


def terms_from_admin(raw: Mapping[str, Any]) -> DiscountTerms:
    """The connector's reading of a discount node (see ``ShopifyAdmin.discount_terms``)."""
    combines = raw.get("combines_with") or {}
    return DiscountTerms(
        gid=str(raw.get("id") or ""),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or ""),
        percentage=raw.get("percentage"),
        amount=raw.get("amount"),
        ends_at=raw.get("ends_at"),
        usage_limit=raw.get("usage_limit"),
        combines=any(bool(v) for v in combines.values()),
        all_items=bool(raw.get("applies_to_all_items")),
        codes=tuple(raw.get("codes") or ()),
    )


__all__ = ["DiscountGuard", "TermsReader", "incident_summary", "inspect_pending", "list_incidents"]


def _name(record: DiscountRecord) -> str:
    """How people know a discount: its first code, else its title, else its node id."""
    codes = record.terms.codes if record.terms is not None else ()
    return codes[0] if codes else record.title or record.gid
