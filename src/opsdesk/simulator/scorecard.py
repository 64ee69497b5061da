"""The scorecard: the simulator's ground truth beside what the desk recorded.

- automation: the pipeline's decisions automated vs escalated, and the routine orders no person had to
  touch (an order the truth marks routine that got a case is an escalation that was not needed);
- incidents: for each injected incident, the first record that counts as catching it
  (``incidents.DETECTION``), the time to detect and the money at risk when it was caught;
- cases by kind and by queue, SLA compliance of the resolved ones, and the most active cases ever seen
  without an owner (the goal is 0);
- carrier trouble: how the desk handled the parcels the carrier had trouble with (``trouble_score``);
- readiness, when the readiness controls are available.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opsdesk.desk import Desk
from opsdesk.domain.cases import Case
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import UnitOfWork
from opsdesk.services.desk_metrics import sla_compliance
from opsdesk.simulator.incidents import DETECTION, Detection
from opsdesk.simulator.run_state import RunStats
from opsdesk.simulator.trouble_score import carrier_trouble
from opsdesk.simulator.truth import Affected, IncidentTruth, Truth

if TYPE_CHECKING:
    from opsdesk.config import Settings

ALL_STATUSES = (
    "open",
    "assigned",
    "in_progress",
    "waiting_customer",
    "waiting_supplier",
    "resolved",
    "closed",
)


@dataclass(frozen=True, slots=True)
class Signal:
    """A record of the desk that may count as catching an incident."""

    at: datetime
    order_id: int | None
    case_kind: str = ""
    queue: str = ""
    playbook: str = ""
    reader: str = ""
    what: str = ""


#: Readers of incident records kept outside cases (name -> function of a unit of work and a shop).
Reader = Callable[[UnitOfWork, str], Iterable[Signal]]


def _discount_incidents(uow: UnitOfWork, shop: str) -> Iterable[Signal]:
    """The discount guard's incident records (detected, with the money it found at risk)."""
    from opsdesk.services import discount_incidents

    for incident in discount_incidents.list_incidents(uow, shop):
        yield Signal(
            incident.detected_at,
            None,
            reader="discount_incidents",
            what=f"discount incident on {incident.title} ({incident.id})",
        )


READERS: dict[str, Reader] = {"discount_incidents": _discount_incidents}


def scorecard(
    desk: Desk, truth: Truth, stats: RunStats | None = None, readiness: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Compare the truth with the desk's records and return the scorecard (JSON-ready)."""
    with desk.db.unit_of_work(read_only=True) as uow:
        cases = _all_cases(uow)
        spare = {c.order_id for c in cases if c.order_id is not None and c.order_id not in truth.needs_person}
        failed = [_failed_calls(uow, truth.shop, incident, spare) for incident in truth.incidents]
        incidents = [
            _incident(uow, truth, incident, cases, calls, desk.settings)
            for incident, calls in zip(truth.incidents, failed, strict=True)
        ]
        trouble = carrier_trouble(uow, truth, cases, desk.settings.file.monitors.buyer_action.hours)
    report = stats.pipeline if stats is not None else None
    routine_orders = truth.orders - len(truth.needs_person)
    unneeded = sorted(spare.difference(*failed))
    return {
        "scenario": truth.scenario,
        "seed": truth.seed,
        "shop": truth.shop,
        "day": {
            "start": truth.start.isoformat(),
            "end": truth.end.isoformat(),
            "followed_until": truth.horizon.isoformat(),
        },
        "deliveries": {
            "sent": truth.deliveries,
            "duplicates": truth.duplicates,
            "reordered": truth.reordered,
            "orders": truth.orders,
            "digest": truth.digest,
            "by_topic": dict(sorted(truth.topics.items())),
        },
        "automation": {
            "automated": report.automated if report else None,
            "escalated": report.escalated if report else None,
            "rate": round(report.automated / (report.automated + report.escalated), 4)
            if report and report.automated + report.escalated
            else None,
            "routine_orders": routine_orders,
            "routine_orders_without_a_case": routine_orders - len(unneeded),
            "routine_rate": round(1 - len(unneeded) / routine_orders, 4) if routine_orders else None,
            "routine_returns_expected_automated": truth.routine_decisions,
        },
        "incidents": incidents,
        "caught": f"{sum(1 for i in incidents if i['caught'])} of {len(incidents)}",
        "unneeded_escalations": {"count": len(unneeded), "orders": unneeded[:10]},
        "carrier_trouble": trouble,
        "cases_by_kind": dict(sorted(Counter(c.kind for c in cases).items())),
        "cases_by_queue": dict(sorted(Counter(c.queue for c in cases).items())),
        "cases": {
            "total": len(cases),
            "active": sum(1 for c in cases if c.status.active),
            "resolved": sum(1 for c in cases if not c.status.active),
        },
        "sla": sla_compliance(c for c in cases if not c.status.active),
        "max_unowned": stats.max_unowned if stats is not None else None,
        "people": stats.people if stats is not None else None,
        "readiness": _readiness(readiness),
        "run": _run(stats),
    }


def _all_cases(uow: UnitOfWork) -> list[Case]:
    where = CaseFilter(status=ALL_STATUSES, active_only=False)
    return uow.cases.search(where, limit=max(uow.cases.count(where), 1))


def _failed_calls(uow: UnitOfWork, shop: str, incident: IncidentTruth, orders: Iterable[int]) -> dict[int, datetime]:
    """Of ``orders``, those whose calls to the incident's providers (``failed_calls_to``) failed in its window,
    with the first such failure: the harm the store's ground truth cannot see."""
    providers = DETECTION.get(incident.kind, Detection()).failed_calls_to
    found: dict[int, datetime] = {}
    for order_id in sorted(orders) if providers else ():
        for action in uow.outbox.for_order(shop, order_id):
            failures = (datetime.fromisoformat(str(a["at"])) for a in action.history if a.get("error"))
            for at in (at for at in failures if action.provider in providers and incident.start <= at < incident.end):
                found[order_id] = min(at, found.get(order_id, at))
    return found


def _incident(
    uow: UnitOfWork,
    truth: Truth,
    incident: IncidentTruth,
    cases: list[Case],
    failed_calls: dict[int, datetime] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """One incident's line: ``failed_calls`` are orders it harmed through the desk's own calls (``_failed_calls``)."""
    rule = DETECTION.get(incident.kind, Detection())
    seen = _with_failed_calls(uow, truth, incident, failed_calls or {})
    harmed = seen.harmed_at()
    signals = sorted(_signals(uow, truth.shop, incident, harmed, cases, rule), key=lambda s: s.at)
    first = signals[0] if signals else None
    total = seen.at_risk(truth.horizon)
    entry: dict[str, Any] = {
        "kind": incident.kind,
        "at": _day_time(incident.start - truth.start),
        "start": incident.start.isoformat(),
        "end": incident.end.isoformat(),
        "affected_orders": len(harmed),
        "money_at_risk_total": str(total),
        "caught": first is not None,
        "detected_at": first.at.isoformat() if first else None,
        "time_to_detect_seconds": round((first.at - incident.start).total_seconds()) if first else None,
        "money_at_risk_when_caught": str(seen.at_risk(first.at)) if first else None,
        "caught_by": first.what if first else None,
        "signals": len(signals),
    }
    looks_after = rule.looks_after(settings) if rule.looks_after and settings else None
    if first is None and looks_after is not None:
        entry["desk_looks_after_seconds"] = round(looks_after.total_seconds())
        entry["over_before_the_desk_looked"] = _over_before(incident, looks_after)
    return entry


def _with_failed_calls(
    uow: UnitOfWork, truth: Truth, incident: IncidentTruth, failed_calls: dict[int, datetime]
) -> IncidentTruth:
    """The incident with the orders it harmed only through the desk's failed calls added to its harm: each from
    its first failed call, at its order's value (the store's total, as the truth counts an order an incident
    holds up), so their money is at risk like any other harmed order's."""
    known = incident.orders
    extra = [
        Affected(at, order_id, _order_value(uow, truth, order_id))
        for order_id, at in sorted(failed_calls.items())
        if order_id not in known
    ]
    return replace(incident, affected=[*incident.affected, *extra]) if extra else incident


def _order_value(uow: UnitOfWork, truth: Truth, order_id: int) -> Decimal:
    """An order's total as the store charged it (the truth's), whatever the desk stored of the order: its
    ``orders/create`` may never have reached it. A truth file written before the truth kept totals has none:
    then the total the desk last recorded (0 for an order it holds no snapshot of)."""
    total = truth.totals.get(order_id)
    if total is not None:
        return total
    state = uow.orders.find(ShopDomain(truth.shop), OrderId(order_id))
    return state.snapshot.total.amount if state is not None and state.snapshot is not None else Decimal(0)


def _over_before(incident: IncidentTruth, looks_after: timedelta) -> bool:
    """Whether every harmed order's harm ended before the desk, as designed, looks (nothing it could catch)."""
    spans = [incident.lasted(order_id, at) for order_id, at in incident.harmed_at().items()]
    return bool(spans) and all(span is not None and span < looks_after for span in spans)


def _signals(
    uow: UnitOfWork, shop: str, incident: IncidentTruth, harmed: dict[int, datetime], cases: list[Case], rule: Detection
) -> Iterable[Signal]:
    """Records that count: about an affected order and written once the incident had harmed it (a follow-up
    sent before, about an older delay of the same order, is not a detection), or shop-level ones."""
    for case in cases:
        since = harmed.get(case.order_id) if case.order_id is not None else None
        if since is None and not (case.order_id is None and rule.shop_level):
            continue
        if case.opened_at < (since or incident.start):
            continue
        if case.kind in rule.case_kinds or case.queue in rule.queues:
            yield Signal(
                case.opened_at,
                case.order_id,
                case.kind,
                case.queue,
                what=f"{case.kind} case in {case.queue} ({case.key})",
            )
    for order_id, since in sorted(harmed.items()):
        for d in uow.decisions.for_order(shop, order_id):
            counts = d.playbook in rule.playbooks and d.outcome in ("automate", "escalate")
            if counts and d.decided_at >= since:
                yield Signal(
                    d.decided_at,
                    order_id,
                    playbook=d.playbook,
                    what=f"{d.playbook} {d.outcome}: {d.rule_id} (decision {d.id})",
                )
    for name in sorted(rule.readers):
        reader = READERS.get(name)
        if reader is None:
            continue
        try:
            found = list(reader(uow, shop))
        except (ImportError, AttributeError):  # the reader's service is not there in this build
            continue
        yield from (s for s in found if s.at >= incident.start)


def _day_time(offset: timedelta) -> str:
    """An offset into the day as the scenario writes it (``10:30``; ``+1d 02:00`` past the day)."""
    days, rest = divmod(offset, timedelta(days=1))
    hours, minutes = divmod(int(rest.total_seconds()) // 60, 60)
    return (f"+{days}d " if days else "") + f"{hours:02d}:{minutes:02d}"


def _readiness(readiness: Callable[[], Any] | None) -> Any:
    if readiness is None:
        return {"available": False}
    try:
        return readiness()
    except Exception as exc:  # readiness must never break the scorecard; its error is reported instead
        return {"available": False, "error": str(exc)}


def _run(stats: RunStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "seconds": round(stats.seconds, 2),
        "ticks": stats.ticks,
        "deliveries": stats.deliveries,
        "refused": stats.refused,
        "pipeline": stats.pipeline.as_dict(),
        "timers_fired": stats.timers_fired,
        "actions_claimed": stats.actions_claimed,
        "faults": stats.faults,
    }
