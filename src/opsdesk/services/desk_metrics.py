"""Desk metrics: backlog by queue and age, SLA compliance, response and resolution times, automation rate.

Times are wall-clock. SLA compliance counts the resolved cases that had a running deadline when they
were resolved (kept in the case's ``decision`` detail) and how many of those were resolved in time.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.cases import Case
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import Database, UnitOfWork

#: Upper bounds of the backlog's age buckets; the last bucket is open-ended.
AGE_BUCKETS = (
    (timedelta(hours=1), "<1h"),
    (timedelta(hours=4), "1h-4h"),
    (timedelta(hours=24), "4h-24h"),
    (timedelta(days=3), "1d-3d"),
)
OLDEST = ">3d"
DONE = ("resolved", "closed")


def desk_metrics(uow: UnitOfWork, now: datetime, since: timedelta = timedelta(days=30)) -> dict[str, Any]:
    """The desk's numbers now; resolved work counts when resolved within ``since``, decisions when taken within it
    (from the decision log: a process's own counters start at zero on each start, and miss what workers decide)."""
    outcomes: Counter[str] = Counter()
    for day in uow.decisions.outcomes_by_day(now - since).values():
        outcomes.update(day)
    active = _all(uow, CaseFilter())
    done = [
        c for c in _all(uow, CaseFilter(status=DONE, active_only=False)) if _resolved_since(c, now - since)
    ]
    return {
        "at": now,
        "window_days": since / timedelta(days=1),
        "backlog": backlog(active, now),
        "sla": sla_compliance(done),
        "first_response_seconds": _spread(
            _seconds(c.opened_at, c.first_response_at) for c in [*active, *done]
        ),
        "resolution_seconds": _spread(_seconds(c.opened_at, c.resolved_at) for c in done),
        "automation": automation_rate(outcomes),
    }


def queue_backlog(db: Database, queues: Iterable[str]) -> dict[str, int]:
    """Active cases in each of ``queues``, in one read-only transaction (one count per queue, on the index of
    the cases by queue and status): ``opsdesk_case_backlog`` on ``/metrics``."""
    with db.unit_of_work(read_only=True) as uow:
        return {queue: uow.cases.count(CaseFilter(queue=queue)) for queue in sorted(queues)}


def backlog(cases: Iterable[Case], now: datetime) -> dict[str, Any]:
    """Active cases by queue and by age bucket."""
    by_queue: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_bucket_names(), 0))
    for case in cases:
        by_queue[case.queue][age_bucket(now - case.opened_at)] += 1
    queues = {q: {"total": sum(ages.values()), "by_age": ages} for q, ages in sorted(by_queue.items())}
    return {"total": sum(q["total"] for q in queues.values()), "queues": queues}


def age_bucket(age: timedelta) -> str:
    return next((name for bound, name in AGE_BUCKETS if age < bound), OLDEST)


def sla_compliance(done: Iterable[Case]) -> dict[str, Any]:
    """Resolved cases that had a deadline, and the share of them resolved before it."""
    timed = [c.detail["decision"] for c in done if (c.detail.get("decision") or {}).get("due_at")]
    met = sum(1 for d in timed if d.get("in_time"))
    return {
        "resolved_with_deadline": len(timed),
        "in_time": met,
        "compliance": round(met / len(timed), 4) if timed else None,
    }


def automation_rate(outcomes: Mapping[str, float]) -> dict[str, Any]:
    """Decisions that automation carried out alone, out of those it either automated or escalated."""
    automated, escalated = int(outcomes.get("automate", 0)), int(outcomes.get("escalate", 0))
    total = automated + escalated
    return {
        "automated": automated,
        "escalated": escalated,
        "rate": round(automated / total, 4) if total else None,
    }


def _all(uow: UnitOfWork, where: CaseFilter) -> list[Case]:
    return uow.cases.search(where, limit=max(uow.cases.count(where), 1))


def _resolved_since(case: Case, since: datetime) -> bool:
    return case.resolved_at is not None and case.resolved_at >= since


def _bucket_names() -> list[str]:
    return [name for _, name in AGE_BUCKETS] + [OLDEST]


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def _spread(values: Iterable[float | None]) -> dict[str, Any]:
    found = sorted(v for v in values if v is not None)
    return {"count": len(found), "median": _rank(found, 0.5), "p90": _rank(found, 0.9)}


def _rank(ordered: list[float], q: float) -> float | None:
    """The nearest-rank percentile."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)] if ordered else None
