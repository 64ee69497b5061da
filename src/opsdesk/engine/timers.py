"""The timer sweep: claim due timers under a lease, fire each in its own transaction, exactly once.

The claim is a short transaction of its own (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so sweepers
never wait for each other). Each timer then fires in one transaction that marks it fired first (which
checks this sweeper still holds the lease and locks the row) and runs its handler after: the mark and
the handler's effects commit together or not at all. A sweeper killed half way leaves only a lease,
which expires; the next claim fires the timer again from scratch, so its effects land once. Because the
mark comes first, a handler may re-arm its own timer by scheduling the same id again (a return timer
passing a case on to the next person does).

A sweeper made with ``together=True`` fires a claimed batch in one transaction instead: one commit for
the batch, not one per timer. A handler that raises rolls the whole batch back, which is then fired one
timer per transaction as above, so a broken timer still blocks nobody (one whose write the database
refuses for its data, a value too long for its column, fails at once: ADR 0030); a sweeper killed half way leaves
the whole batch to the lease. It is for a virtual clock that stands still while the batch fires (the
simulator): with a real one each timer would no longer fire at its own ``now``. A shared timer (a person's
digest, which other transactions add to at commit, its row locked in id order) fires alone even then, first:
marked fired mid-batch it would be held while the batch wrote other rows, and a transaction holding one of
those could wait for it at commit (ADR 0058, amended). Alone, its row is its transaction's first lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.domain.errors import DataRefused, Unavailable
from opsdesk.domain.records import Timer
from opsdesk.engine.polling import keep_polling
from opsdesk.ports import Clock, Database
from opsdesk.services.deadlines import Handler, make_timer_handlers
from opsdesk.services.notify import DIGEST

log = logging.getLogger("opsdesk.timers")

__all__ = ["Handler", "SweepStats", "TimerSweeper", "make_timer_handlers"]

#: Kinds of timer that transactions amend at commit (``TimerRepository.amend``): each fires in a transaction alone.
SHARED = frozenset({DIGEST})


@dataclass(slots=True)
class SweepStats:
    fired: int = 0
    retried: int = 0
    failed: int = 0
    #: Claimed timers not ours to fire any more: the lease ran out, or they were moved or cancelled.
    lost: int = 0


class TimerSweeper:
    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        clock: Clock,
        *,
        worker: str,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 100,
        retry: timedelta = timedelta(seconds=30),
        attempts: int = 5,
        together: bool = False,
        standing: Sequence[Callable[[datetime], Timer]] = (),
        on_outcome: Callable[[str, int], None] | None = None,
    ) -> None:
        """``standing``: timers that must always be pending (housekeeping that arms itself again when it
        fires, such as the usage retention sweep): the first pass schedules each one not pending already.
        ``on_outcome`` hears each count added to ``stats``, by its name (``fired``, ``retried``, ``failed``,
        ``lost``): the desk's metrics."""
        self._db = db
        self._handlers = handlers
        self._clock = clock
        self._worker = worker
        self._lease = lease
        self._batch = batch
        self._retry = retry
        self._attempts = attempts
        self._together = together
        self._standing = standing
        self._on_outcome = on_outcome
        self.stats = SweepStats()

    def run_once(self, *, seen_due: bool = False) -> int:
        """Claim one batch of due timers and fire them; returns how many were claimed.

        ``seen_due``: the caller has just seen a timer due, so the idle check (a read of its own) is
        skipped; were it wrong, the claim would only take the write lock for nothing."""
        now = self._clock.now()
        if self._standing:
            self._arm_standing(now)
        if not seen_due:
            with self._db.unit_of_work(read_only=True) as uow:  # an idle poll must not take the write lock
                due = uow.timers.next_due_at(now)  # until ports declares it
            if due is None or due > now:
                return 0
        lease_until = now + self._lease
        with self._db.unit_of_work() as uow:
            claimed = uow.timers.claim_due(now, self._batch, lease_until, self._worker)
            uow.commit()
        if not self._together:
            self._fire_each(claimed, lease_until)
            return len(claimed)
        rest = [timer for timer in claimed if timer.kind not in SHARED]
        self._fire_each([timer for timer in claimed if timer.kind in SHARED], lease_until)
        if len(rest) < 2 or not self._fire_together(rest, lease_until):
            self._fire_each(rest, lease_until)
        return len(claimed)

    def run(
        self, stop: threading.Event, poll: float = 0.5, on_error: Callable[[Exception], None] | None = None
    ) -> None:
        """Sweep until ``stop`` is set; a database outage is waited out, never fatal."""
        keep_polling(lambda: self.run_once() >= self._batch, stop, poll, on_error)

    def _arm_standing(self, now: datetime) -> None:
        with self._db.unit_of_work() as uow:
            for make in self._standing:
                timer = make(now)
                if all(pending.id != timer.id for pending in uow.timers.pending(timer.subject)):
                    uow.timers.schedule([timer])
            uow.commit()
        self._standing = ()  # armed: from now on they arm themselves again

    def _fire_each(self, timers: list[Timer], lease_until: datetime) -> None:
        for done, timer in enumerate(timers):
            if self._clock.now() >= lease_until:
                # The rest of the batch is anyone's again; firing it here would only race the next claim.
                self._count("lost", len(timers) - done)
                break
            self._fire(timer)

    def _fire(self, timer: Timer) -> None:
        now = self._clock.now()
        try:
            with self._db.unit_of_work() as uow:
                if not uow.timers.finish(timer.id, worker=self._worker, at=now):
                    self._count("lost")  # rescheduled, cancelled or re-claimed since our claim
                    return
                self._handler(timer.kind)(uow, timer, now)
                uow.commit()
            self._count("fired")
        except Unavailable:
            raise  # the database is down: nothing can be recorded, the lease will hand the timer back
        except Exception as exc:
            # One broken timer must not block the sweep: its transaction is already rolled back, the
            # failure is recorded in a fresh one (retried later, or given up after N attempts), and
            # the loop goes on with the next timer. BaseException (a kill) is not caught on purpose.
            log.exception("timer %s (%s) failed", timer.id, timer.kind,
                          extra={"timer_id": timer.id, "kind": timer.kind, "subject": timer.subject})
            self._record_failure(timer, exc, now)

    def _fire_together(self, claimed: list[Timer], lease_until: datetime) -> bool:
        """Fire the batch in one transaction; False if it was rolled back (a handler raised, or the lease
        ran out), for the caller to fire it one timer per transaction."""
        now = self._clock.now()
        if now >= lease_until:
            return False
        fired = lost = 0
        try:
            with self._db.unit_of_work() as uow:
                for timer in claimed:
                    if not uow.timers.finish(timer.id, worker=self._worker, at=now):
                        lost += 1  # rescheduled, cancelled or re-claimed since our claim
                        continue
                    self._handler(timer.kind)(uow, timer, now)
                    fired += 1
                uow.commit()
        except Unavailable:
            raise
        except Exception:  # the one-by-one firing that follows logs and records it, in isolation
            return False
        self._count("fired", fired)
        self._count("lost", lost)
        return True

    def _count(self, outcome: str, n: int = 1) -> None:
        if n:
            setattr(self.stats, outcome, getattr(self.stats, outcome) + n)
            if self._on_outcome is not None:
                self._on_outcome(outcome, n)

    def _handler(self, kind: str) -> Handler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise LookupError(f"no handler for timer kind {kind!r}") from None

    def _record_failure(self, timer: Timer, exc: Exception, now: datetime) -> None:
        # A value the database refused would be refused again: the timer fails at once (ADR 0030).
        retry_at = None if isinstance(exc, DataRefused) or timer.attempts + 1 >= self._attempts else now + self._retry
        with self._db.unit_of_work() as uow:
            recorded = uow.timers.finish(
                timer.id, worker=self._worker, at=now, error=f"{type(exc).__name__}: {exc}", retry_at=retry_at
            )
            uow.commit()
        if recorded and retry_at is not None:
            self._count("retried")
        elif recorded:
            self._count("failed")
