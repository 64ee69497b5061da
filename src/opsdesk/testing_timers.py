"""The in-memory timer repository, for ``opsdesk.testing``: durable timers claimed under a lease, retried,
pruned. It works on the in-memory unit of work's ``timers`` and ``timer_leases``, so it commits and rolls
back with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from opsdesk.domain.records import Timer, TimerMark
from opsdesk.testing_rows import as_stored


class Tables(Protocol):
    timers: dict[str, Timer]
    timer_leases: dict[str, tuple[str, datetime]]  # timer id: (worker, until)


class MemoryTimers:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def schedule(self, timers: Sequence[Timer]) -> None:
        for timer in timers:
            self.t.timers[timer.id] = replace(
                timer,
                due_at=timer.due_at.astimezone(UTC),
                payload=as_stored(timer.payload),
                status="pending",
                attempts=0,
                last_error="",
            )
            self.t.timer_leases.pop(timer.id, None)

    def amend(self, timer: Timer, change: Callable[[Timer], Timer]) -> None:
        found = self.t.timers.get(timer.id)
        self.schedule([change(found if found is not None and found.status == "pending" else timer)])

    def cancel(self, subject: str, kinds: Iterable[str] = ()) -> int:
        wanted = set(kinds)
        hits = [
            x
            for x in self.t.timers.values()
            if x.subject == subject and x.status == "pending" and (not wanted or x.kind in wanted)
        ]
        for x in hits:
            self.t.timers[x.id] = replace(x, status="cancelled")
        return len(hits)

    def cancel_many(self, subjects: Iterable[str], kinds: Iterable[str] = ()) -> set[str]:
        wanted = list(kinds)
        return {subject for subject in set(subjects) if self.cancel(subject, wanted)}

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[Timer]:
        due = sorted(
            (
                x
                for x in self.t.timers.values()
                if x.status == "pending"
                and x.due_at <= now
                and (x.id not in self.t.timer_leases or self.t.timer_leases[x.id][1] < now)
            ),
            key=lambda x: (x.due_at, x.id),
        )[:limit]
        for x in due:
            self.t.timer_leases[x.id] = (worker, lease_until)
        return due

    def next_due_at(self, now: datetime) -> datetime | None:
        due = [
            x.due_at
            for x in self.t.timers.values()
            if x.status == "pending"
            and (x.id not in self.t.timer_leases or self.t.timer_leases[x.id][1] < now)
        ]
        return min(due, default=None)

    def finish(
        self, timer_id: str, *, worker: str, at: datetime, error: str = "", retry_at: datetime | None = None
    ) -> bool:
        lease = self.t.timer_leases.get(timer_id)
        timer = self.t.timers.get(timer_id)
        if lease is None or lease[0] != worker or timer is None or timer.status != "pending":
            return False
        del self.t.timer_leases[timer_id]
        if not error:
            self.t.timers[timer_id] = replace(timer, status="fired", attempts=timer.attempts + 1)
        elif retry_at is not None:
            self.t.timers[timer_id] = replace(
                timer, due_at=retry_at, attempts=timer.attempts + 1, last_error=error
            )
        else:
            self.t.timers[timer_id] = replace(
                timer, status="failed", attempts=timer.attempts + 1, last_error=error
            )
        return True

    def pending(self, subject: str) -> list[Timer]:
        return sorted(
            (x for x in self.t.timers.values() if x.subject == subject and x.status == "pending"),
            key=lambda x: (x.due_at, x.id),
        )

    def pending_many(self, subjects: Iterable[str]) -> dict[str, list[Timer]]:
        return {subject: found for subject in set(subjects) if (found := self.pending(subject))}

    def prune(
        self, after: TimerMark | None, limit: int, due_before: datetime
    ) -> tuple[TimerMark | None, int, int]:
        done = sorted(
            (x.due_at, x.id)
            for x in self.t.timers.values()
            if x.status in ("fired", "cancelled") and x.due_at < due_before
        )
        page = [mark for mark in done if after is None or mark > after][:limit]
        for _, timer_id in page:
            del self.t.timers[timer_id]
        return (page[-1] if len(page) == limit else None), len(page), len(page)

    def count(self, status: str | None = None) -> int:
        return sum(1 for x in self.t.timers.values() if status is None or x.status == status)
