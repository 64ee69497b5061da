"""Follow-up progress rows deleted once their follow-up has long ended: a sweep on a durable timer (ADR 0022)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.domain.records import FollowupProgress, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.deadlines import Handler
from opsdesk.services.followups import FOLLOWUP, subject

FOLLOWUP_RETENTION = "followup_retention"
RETENTION_SUBJECT = "housekeeping:followups"


@dataclass(frozen=True, slots=True)
class FollowupRetention:
    """Progress rows deleted once their follow-up ended and its last message went ``keep`` ago (ADR 0022).

    A follow-up has ended when its order has no pending ``followup`` timer: it stopped (shipped, cancelled,
    refunded), sent its last message, or failed. Nothing reads the row then: only a firing timer does. Rows
    are numbered in the order their follow-ups began, so each firing reads the next ``batch`` rows after the
    last one it read and stops at the first begun since the horizon (the rest began later still). A row
    passed over (its follow-up still running, or its last message too recent) is not settled: the next
    round starts before the first such row (``from``), every row below it having been deleted. So a round
    reads again only the rows it left, never the table from its start.
    """

    keep: timedelta
    every: timedelta = timedelta(hours=1)
    batch: int = 500

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {FOLLOWUP_RETENTION: self.sweep}

    def first(self, now: datetime) -> Timer:
        """The timer that starts the sweeps, due at once (the sweeper arms it when it starts)."""
        return _retention_timer(now, 0, 0)

    def sweep(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``followup_retention`` timer: one page of progress rows, the ended ones deleted; then the next."""
        settled, after = int(timer.payload.get("from", 0)), int(timer.payload.get("after", 0))
        page = uow.followups.page(after, self.batch)
        doomed, settled, after, reached = self._walk(uow, page, settled, after, now - self.keep)
        uow.followups.remove(doomed, now - self.keep)
        uow.timers.schedule([_retention_timer(now + self.every, settled, settled) if reached
                             else _retention_timer(now, settled, after)])

    def _walk(self, uow: UnitOfWork, page: Sequence[FollowupProgress], settled: int, after: int,
              horizon: datetime) -> tuple[list[int], int, int, bool]:
        """The page's rows to delete, where every row is settled, where the page ended, whether the round did.

        A round never passes the first row begun since the horizon: a row another transaction is writing
        and has not committed began now, after it, so the cursor never passes a row it could not see."""
        running = uow.timers.pending_many(subject(p.shop, p.order_id) for p in page)
        doomed: list[int] = []
        for progress in page:
            if progress.started_at >= horizon:  # numbered in the order they began: the rest began later
                return doomed, settled, after, True
            ended = all(t.kind != FOLLOWUP for t in running.get(subject(progress.shop, progress.order_id), []))
            if ended and progress.last_sent_at < horizon:
                doomed.append(progress.id)
                settled = progress.id if settled == after else settled
            after = progress.id
        return doomed, settled, after, len(page) < self.batch


def _retention_timer(due: datetime, settled: int, after: int) -> Timer:
    return Timer(FOLLOWUP_RETENTION, FOLLOWUP_RETENTION, RETENTION_SUBJECT, due, {"from": settled, "after": after})
