"""The dashboard's metrics over time: one value per UTC day for each chart of the metrics page.

- automation rate: decisions automation carried out alone, out of those it automated or escalated;
- backlog: active cases at the end of the day;
- SLA compliance: of the cases resolved that day with a running deadline, the share resolved in time;
- time to resolution: the median hours from opening to resolution of the cases resolved that day;
- money at risk caught: the total of the orders on which a case was opened that day (the value a
  person looked at instead of automation acting alone), in the currency most of them use.

Cases are read the way ``desk_metrics`` reads them (every active case, and those resolved in the
window), decisions through one grouped query; nothing is stored for the charts.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.cases import Case
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import UnitOfWork

DONE = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    unit: str
    days: list[date]
    values: list[float | None]

    @property
    def latest(self) -> float | None:
        return next((v for v in reversed(self.values) if v is not None), None)


def metrics_series(uow: UnitOfWork, now: datetime, days: int = 14) -> list[Series]:
    """The five charts of the metrics page over the last ``days`` days (today included)."""
    today = now.date()
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    since = datetime.combine(span[0], datetime.min.time(), tzinfo=now.tzinfo)
    active = _all(uow, CaseFilter())
    done = [c for c in _all(uow, CaseFilter(status=DONE, active_only=False)) if _resolved(c) >= since]
    currency, money = money_at_risk(uow, [*active, *done], span)
    return [
        Series("Automation rate", "%", span, automation(uow.decisions.outcomes_by_day(since), span)),
        Series("Backlog", "cases", span, backlog(active, done, span)),
        Series("SLA compliance", "%", span, compliance(done, span)),
        Series("Time to resolution (median)", "hours", span, resolution_hours(done, span)),
        Series(f"Money at risk caught ({currency})", currency, span, money),
    ]


def automation(outcomes: dict[str, dict[str, int]], span: list[date]) -> list[float | None]:
    found: list[float | None] = []
    for day in span:
        counts = outcomes.get(day.isoformat(), {})
        automated, escalated = counts.get("automate", 0), counts.get("escalate", 0)
        found.append(round(100 * automated / (automated + escalated), 1) if automated + escalated else None)
    return found


def backlog(active: list[Case], done: list[Case], span: list[date]) -> list[float | None]:
    """Active cases at each day's end: those open now or resolved later, less those opened later."""
    found: list[float | None] = []
    for day in span:
        later = [c for c in done if _resolved(c).date() > day]
        still = [c for c in [*active, *later] if c.opened_at.date() <= day]
        found.append(float(len(still)))
    return found


def compliance(done: list[Case], span: list[date]) -> list[float | None]:
    found: list[float | None] = []
    for day in span:
        timed = [c.detail["decision"] for c in _on(done, day) if (c.detail.get("decision") or {}).get("due_at")]
        met = sum(1 for d in timed if d.get("in_time"))
        found.append(round(100 * met / len(timed), 1) if timed else None)
    return found


def resolution_hours(done: list[Case], span: list[date]) -> list[float | None]:
    found: list[float | None] = []
    for day in span:
        hours = [(_resolved(c) - c.opened_at).total_seconds() / 3600 for c in _on(done, day)]
        found.append(round(statistics.median(hours), 2) if hours else None)
    return found


def money_at_risk(uow: UnitOfWork, cases: list[Case], span: list[date]) -> tuple[str, list[float | None]]:
    """The order totals behind the cases opened each day, in the most used currency."""
    opened = [c for c in cases if c.order_id is not None and span[0] <= c.opened_at.date()]
    keys = {(ShopDomain(c.shop), OrderId(c.order_id)) for c in opened if c.order_id is not None}
    orders = uow.orders.get_many(keys)
    totals: dict[tuple[date, str], Decimal] = {}
    for case in opened:
        state = orders.get((ShopDomain(case.shop), OrderId(case.order_id or 0)))
        if state is not None and state.snapshot is not None:
            key = (case.opened_at.date(), state.snapshot.total.currency)
            totals[key] = totals.get(key, Decimal(0)) + state.snapshot.total.amount
    currency = Counter(cur for _, cur in totals).most_common(1)[0][0] if totals else "USD"
    # Summed exactly in Decimal above; float only as the chart's plotting coordinate, never as money.
    return currency, [float(totals.get((day, currency), 0)) for day in span]


def _on(cases: Iterable[Case], day: date) -> list[Case]:
    return [c for c in cases if _resolved(c).date() == day]


def _resolved(case: Case) -> datetime:
    return case.resolved_at or case.updated_at or case.opened_at


def _all(uow: UnitOfWork, where: CaseFilter) -> list[Case]:
    return uow.cases.search(where, limit=max(uow.cases.count(where), 1))
