"""Drive a desk with a simulated store in process, on a virtual clock (``over_http`` drives a server).

In process, the virtual clock moves in ticks. In each tick the timers due by its first delivery fire, at
their times; then the deliveries that reached opsdesk are verified (HMAC included) and stored through the
same intake code as ``opsdesk ingest`` and processed by the pipeline at the tick's end; then the timers that
fell due fire, the outbox sends (to the stand-ins), the simulated people work, and the incidents' faults are
switched on or off. When nothing is due the clock jumps to the next thing that is.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice

from opsdesk.desk import Desk
from opsdesk.domain.records import RawDelivery
from opsdesk.engine.outbox import OutboxSender
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import UnitOfWork
from opsdesk.services.ahead import accepted as ahead_accepted
from opsdesk.services.intake import Refused, lower_headers, verify
from opsdesk.services.pipeline_batch import BatchReport
from opsdesk.services.pipeline_events import Outcome_
from opsdesk.services.refusals import REFUSALS
from opsdesk.services.replay import store_each, store_for_processing
from opsdesk.simulator.checkpoints import checkpointer
from opsdesk.simulator.people import People
from opsdesk.simulator.run_state import Faults, Peek, Progress, RunStats, Source, VirtualClock, switch_faults
from opsdesk.simulator.store import Delivery

log = logging.getLogger(__name__)

#: How often, inside the scored day, the active cases are checked for one without an owner (each check
#: reads them all); every 6 hours outside it.
SAMPLE_EVERY = timedelta(minutes=30)
#: How many ticks make one outside the scored day.
OUTSIDE_DAY = 3
#: A batch of deliveries intake accepted, and the events of those normalised ahead by (shop, webhook id).
_Batch = tuple[list[RawDelivery], dict[tuple[str, str], Outcome_]]


class InProcess:
    """Runs a scenario against a desk wired with a ``VirtualClock``."""

    def __init__(
        self,
        desk: Desk,
        clock: VirtualClock,
        store: Source,
        *,
        faults: Faults | None = None,
        people: bool = True,
    ) -> None:
        self.desk, self.clock, self.store, self.s = desk, clock, store, store.s
        self.faults = dict(faults or {})
        self.people = (
            People(desk, self.s.staffing, self.s.start, random.Random(self.s.seed + 1)) if people else None
        )
        # The virtual clock stands still while a batch fires: one transaction for it, not one per timer.
        self.sweeper = TimerSweeper(desk.db, desk.timer_handlers, clock, worker="simulator", together=True)
        self.sender: OutboxSender = desk.sender(worker="simulator", rng=random.Random(self.s.seed + 2))
        self.stats = RunStats()
        self._on: set[str] = set()
        self._next_sample = self.s.first_order_at
        #: when the next timer is due, as the last tick left the timers; the first tick reads it
        self._next_timer: datetime | None = None

    def run(self, progress: Progress | None = None) -> RunStats:
        with checkpointer(self.desk):
            return self._run(progress)

    def _run(self, progress: Progress | None) -> RunStats:
        started = time.perf_counter()
        stream = Peek(iter(self.store))
        now, end = self.s.first_order_at, self.s.horizon
        total = (end - now).total_seconds()
        while now < end:
            now = min(now + self._tick(now), end)
            batch = stream.until(now)
            if batch:
                self._due_by(batch[0].at)
            self.clock.set(now)
            self._switch_faults(now)
            self._ingest(batch, now)
            settled = self._drain()
            # A drain after the people's work, unless it would find nothing: the first one left nothing
            # due, the clock has not moved, and nobody wrote since.
            if self.people is not None and (self.people.work(now) or not settled):
                self._drain()
            if now >= self._next_sample:
                self._sample_unowned()
                inside = self.s.start <= now < self.s.end
                self._next_sample = now + (SAMPLE_EVERY if inside else SAMPLE_EVERY * 12)
            self.stats.ticks += 1
            if progress is not None:
                progress(1 - (end - now).total_seconds() / total, f"{now:%a %H:%M}")
            now = self._skip_idle(now, stream, end)
        self._switch_faults(end + timedelta(seconds=1))
        if self.people is not None:
            done = self.people.stats
            self.stats.people = {
                "claimed": done.claimed,
                "resolved": done.resolved,
                "conflicts": done.conflicts,
            }
        self.stats.seconds = time.perf_counter() - started
        return self.stats

    def _due_by(self, first: datetime) -> None:
        """Fire what falls due by the tick's first delivery, each at its time, before the tick's deliveries, as a
        server's sweep would (ADR 0011, amended); what falls due later fires at the tick's end, as before."""
        due = self._next_timer if self.stats.ticks else self._timer_due(first)
        while due is not None and self.clock.now() < due <= first:  # one a drain left due: at the tick's end
            self.clock.set(due)
            if not self._drain():
                return
            due = self._timer_due(first)

    def _timer_due(self, now: datetime) -> datetime | None:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return uow.timers.next_due_at(now)

    def _tick(self, now: datetime) -> timedelta:
        """The scenario's tick inside the scored day; coarser before and after it (history, follow-up)."""
        return self.s.tick if self.s.start <= now < self.s.end else self.s.tick * OUTSIDE_DAY

    def _ingest(self, batch: list[Delivery], now: datetime) -> None:
        """Verify, store and process the deliveries that reached the desk in this tick, batch by batch as
        ``opsdesk ingest`` does, in one transaction: nothing else runs between two batches of a tick, so only
        the commits between them are left out (a busy tick's pages are written once, not once a batch).

        A tick the database refuses for its data (a value too long for its column) goes on batch by batch, a
        transaction each; a batch refused even so as in ``opsdesk ingest`` (ADR 0030): stored again one delivery
        per transaction (one refused even so is counted refused), then processed one delivery at a time, the
        refused one marked failed; the run goes on."""
        if not batch:
            return
        size = self.desk.settings.file.limits.batch_size
        batches = [self._verified(islice(batch, start, start + size), now) for start in range(0, len(batch), size)]
        try:
            reports = self._store_and_process(batches, now)
        except REFUSALS as exc:  # one delivery's data, not an outage
            if len(batches) == 1:
                reports = [self._refused(batches[0][0], exc)]
            else:
                log.warning("a tick's %d deliveries were refused (%s); batch by batch", len(batch), exc)
                reports = [self._alone(one, now) for one in batches]
        for report in reports:
            self.stats.pipeline.add(report)
        self.stats.deliveries += len(batch)

    def _alone(self, batch: _Batch, now: datetime) -> BatchReport:
        """One batch stored and processed in a transaction of its own; one by one if the database refuses it."""
        try:
            return self._store_and_process([batch], now)[0]
        except REFUSALS as exc:  # one delivery's data, not an outage
            return self._refused(batch[0], exc)

    def _refused(self, accepted: list[RawDelivery], exc: Exception) -> BatchReport:
        log.warning("a batch of %d deliveries was refused (%s); one by one", len(accepted), exc)
        return self._store_one_by_one(accepted)

    def _verified(self, deliveries: Iterable[Delivery], now: datetime) -> _Batch:
        """The deliveries intake accepts (the others counted refused), and the events of those normalised
        ahead, by (shop, webhook id): the first of a duplicated id, the one stored."""
        desk, limits = self.desk, self.desk.settings.file.limits
        accepted: list[RawDelivery] = []
        ahead: dict[tuple[str, str], Outcome_] = {}
        for d in deliveries:
            checked = d.checked
            if checked is None:
                verdict = verify(
                    lower_headers(d.headers),
                    d.body,
                    secrets_for=desk.secrets_for,
                    is_known=desk.is_known,
                    max_bytes=limits.max_body_bytes,
                    now=now,
                )
            elif isinstance(checked, Refused):
                verdict = checked
            else:
                verdict, outcome = ahead_accepted(checked, d.body, now)
                ahead.setdefault((verdict.shop, verdict.webhook_id), outcome)
            if isinstance(verdict, Refused):
                self.stats.refused += 1
                continue
            accepted.append(verdict)
        return accepted, ahead

    def _store_and_process(self, batches: list[_Batch], now: datetime) -> list[BatchReport]:
        """Store and process each batch in turn, all in one transaction; their reports, once committed."""
        desk = self.desk
        with desk.db.unit_of_work() as uow:
            reports = [self._stored_and_processed(uow, accepted, ahead, now) for accepted, ahead in batches]
            uow.commit()
        for report in reports:
            desk.count(report)
        return reports

    def _stored_and_processed(
        self, uow: UnitOfWork, accepted: list[RawDelivery], ahead: dict[tuple[str, str], Outcome_], now: datetime
    ) -> BatchReport:
        desk = self.desk
        screened = desk.erased.screen(uow, accepted)
        # A delivery the screen erased (a new object) is normalised again from what is stored.
        erased = {(d.shop, d.webhook_id) for d, kept in zip(accepted, screened, strict=True) if kept is not d}
        stored, pending = store_for_processing(uow, screened)
        done = {
            s.id: ahead[key]
            for s in stored
            if (key := (s.delivery.shop, s.delivery.webhook_id)) in ahead and key not in erased
        }
        return desk.pipeline.process(uow, pending, now, done=done)

    def _store_one_by_one(self, accepted: list[RawDelivery]) -> BatchReport:
        """A refused batch stored one delivery per transaction, unprocessed, as ``opsdesk ingest`` stores it;
        then processed as the desk processes what is pending (a refused delivery fails alone)."""
        reasons: Counter[str] = Counter()
        _, not_stored = store_each(self.desk.db.unit_of_work, accepted, self.desk.erased.screen, reasons)
        self.stats.refused += not_stored
        return self.desk.process_pending()  # it adds its report to the desk's metrics

    def _drain(self) -> bool:
        """Process what waits, then fire due timers and send due actions until nothing more is due;
        False if it stopped after 100 rounds with work left.

        Each round processes what waits (when nothing does, that is one read), then reads once what is
        due for the timers and the outbox and skips a step that would find nothing: one whose work was
        not due at that read and that no step before it in the round can have made due (the virtual
        clock stands still during a drain). A timer's handler may schedule actions: after timers fired,
        the sender checks for itself.
        """
        for _ in range(100):
            # Deliveries of this tick the pipeline made wait for their order and requeued when it came in
            # the same batch, and the desk's own signals (opsdesk/* topics) that watchers and timers
            # appended: decided now, at this tick's time, as a server would.
            self.stats.pipeline.add(self.desk.process_pending())
            timer_due, action_due = self._due()
            fired = self.sweeper.run_once(seen_due=True) if timer_due else 0
            sent = self.sender.run_once(seen_due=action_due) if action_due or fired else 0
            self.stats.timers_fired += fired
            self.stats.actions_claimed += sent
            if not fired and not sent:
                return True
        return False

    def _due(self) -> tuple[bool, bool]:
        """Whether a timer is due now; whether an action is (what the drain's steps check)."""
        now = self.clock.now()
        with self.desk.db.unit_of_work(read_only=True) as uow:
            timer, action = uow.timers.next_due_at(now), uow.outbox.next_due_at()
        return timer is not None and timer <= now, action is not None and action <= now

    def _switch_faults(self, now: datetime) -> None:
        switch_faults(self.store.truth.incidents, self.faults, self._on, now, self.stats.faults)

    def _sample_unowned(self) -> None:
        with self.desk.db.unit_of_work(read_only=True) as uow:  # a count, not every active case read
            unowned, _ = uow.readiness.unowned_cases(0)
        self.stats.max_unowned = max(self.stats.max_unowned, unowned)
        self.stats.unowned_samples += 1

    def _skip_idle(self, now: datetime, stream: Peek, end: datetime) -> datetime:
        """When nothing happens before the next tick, jump to just before the next thing that does."""
        candidates = [end]
        if stream.head is not None:
            candidates.append(stream.head.at)
        with self.desk.db.unit_of_work(read_only=True) as uow:
            self._next_timer = uow.timers.next_due_at(end)  # nothing runs before the next tick reads it
            candidates += [due for due in (self._next_timer, uow.outbox.next_due_at()) if due is not None]
        if self.people is not None:
            busy = self.people.next_event()
            if busy is not None:
                candidates.append(busy)
            if any(w.busy_until is None for w in self.people.workers):
                candidates.append(self._next_shift(now))
        candidates += [t for i in self.store.truth.incidents for t in (i.start, i.end) if t > now]
        upcoming, tick = min(candidates), self._tick(now)
        if upcoming <= now + tick:
            return now
        ticks = (upcoming - now) // tick
        return now + tick * (ticks - 1) if ticks > 1 else now

    def _next_shift(self, now: datetime) -> datetime:
        if self.people is not None and self.people.on_shift(now):
            return now  # someone idle on shift may find work in every tick
        day = self.s.start + (now - self.s.start) // timedelta(days=1) * timedelta(days=1)
        start = day + self.s.staffing.shift[0]
        return start if start > now else start + timedelta(days=1)
