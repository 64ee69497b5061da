"""Usage retention: a windowed counter is deleted once no rule or monitor can read it again, a page at a time.

The windowed rows of the guardrail usage table are the guardrails' counters
(``<rule>|customer|<customer>|<start>`` and ``<rule>|shop|<shop>|<start>``, ``Guardrail.usage_key``) and the
monitors' (``monitor|<counter>|<start>``, ``monitors.count``), ``<start>`` being the Unix second their fixed
window began. Whoever reads a counter reads the window ``now`` falls in, never an earlier one, and no window
is longer than ``longest``, the longest configured: the guardrail periods of the loaded playbooks and the
monitors' windows (``monitors:`` in ``opsdesk.yaml``). So a row whose window began ``longest`` ago is read no
more. The sweep keeps it one ``longest`` longer still (``keep``) for what runs with another ``now``: a
worker whose clock lags, a transaction begun before the window ended. Rows without a window are never
deleted: a cap without a period (``|-``), the reconciliation marks. (Follow-up progress has a table of its
own since migration 0010, with its own sweep: ``followup_retention.FollowupRetention``.)

The sweep is a durable timer (``usage_retention``) that the timer sweeper of ``opsdesk serve`` and
``opsdesk worker`` arms when it starts (``TimerSweeper(standing=...)``); on PostgreSQL only the worker
holding its lease sweeps. Each firing reads the next ``batch`` keys after the last one it read (kept in the
timer's payload), deletes the expired ones among them, and arms the timer again: at once while there is
more to read, else ``every`` later, from the first key. So one transaction is one read along the primary
key's index and at most one DELETE, however big the table is.

The other housekeeping sweeps share its horizon (``keep``): ``TimerRetention`` below, follow-up progress
(``followup_retention.FollowupRetention``) and discount rate windows (``discount_retention``), each reading only
what it deletes or must look at again (ADR 0022's last amendment); delivery retention has its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.domain import policies
from opsdesk.domain.records import Timer, TimerMark
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.deadlines import Handler

RETENTION = "usage_retention"
SUBJECT = "housekeeping:usage"


def window_started(key: str) -> int | None:
    """When the window of a usage row began (Unix seconds), or None for a row of no window."""
    return monitors.window_started(key) if key.startswith(monitors.PREFIX) else policies.window_started(key)


@dataclass(frozen=True, slots=True)
class UsageRetention:
    #: The longest window any rule or monitor reads (``longest_window``).
    longest: timedelta
    every: timedelta = timedelta(hours=1)
    batch: int = 500

    @property
    def keep(self) -> timedelta:
        """How long after its window began a row is kept: the window, then as long again as a margin."""
        return 2 * self.longest

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {RETENTION: self.sweep}

    def expired(self, key: str, now: datetime) -> bool:
        started = window_started(key)
        return started is not None and started + self.keep.total_seconds() <= now.timestamp()

    def first(self, now: datetime) -> Timer:
        """The timer that starts the sweeps, due at once (the sweeper arms it when it starts)."""
        return _timer(now, after="")

    def sweep(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``usage_retention`` timer: one page of keys, its expired rows deleted; then the next page."""
        keys = uow.usage.keys(str(timer.payload.get("after", "")), self.batch)
        uow.usage.remove([key for key in keys if self.expired(key, now)])
        more = len(keys) == self.batch
        after, due = (keys[-1], now) if more else ("", now + self.every)
        uow.timers.schedule([_timer(due, after)])


def longest_window(playbooks: Sequence[policies.Playbook], monitor_windows: Iterable[timedelta]) -> timedelta:
    """The longest window read: of the playbooks' guardrail periods and the monitors' windows."""
    return max(policies.longest_period(playbooks), *monitor_windows)


def _timer(due: datetime, after: str) -> Timer:
    return Timer(RETENTION, RETENTION, SUBJECT, due, {"after": after})


TIMER_RETENTION = "timer_retention"
TIMER_SUBJECT = "housekeeping:timers"


@dataclass(frozen=True, slots=True)
class TimerRetention:
    """Fired and cancelled timers deleted ``keep`` after they were due, a page at a time.

    Such a row is history only: no sweep, monitor or page reads it again, and a timer scheduled again under
    its id is written anew. Pending timers (this one too) and failed ones are kept. A timer's id says nothing
    of when it is due, so the sweep does not walk the ids (every kept row would be read again each round):
    it reads the done timers by due time (a partial index of them), from the last one it read (in its
    payload) to the horizon, and deletes every row it reads; at once again while a page was full, else
    ``every`` later from the first done timer. A round reads only rows it deletes: what is left before the
    horizon after a round is what was not done yet, which enters the index, at its due time, when it fires
    or is cancelled; the next round starts from the first done timer so that such a row is not passed.
    """

    keep: timedelta
    every: timedelta = timedelta(hours=1)
    batch: int = 500

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {TIMER_RETENTION: self.sweep}

    def first(self, now: datetime) -> Timer:
        """The timer that starts the sweeps, due at once (the sweeper arms it when it starts)."""
        return _timer_sweep(now, None)

    def sweep(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``timer_retention`` timer: one page of expired done timers deleted; then the next page."""
        last, _, _ = uow.timers.prune(_mark(timer.payload), self.batch, now - self.keep)
        uow.timers.schedule([_timer_sweep(now if last else now + self.every, last)])


def _timer_sweep(due: datetime, after: TimerMark | None) -> Timer:
    payload = {"due": after[0].isoformat(), "id": after[1]} if after else {}
    return Timer(TIMER_RETENTION, TIMER_RETENTION, TIMER_SUBJECT, due, payload)


def _mark(payload: Mapping[str, object]) -> TimerMark | None:
    """The due time and id a round goes on after; None (from the first) for a new round, or a payload of
    the sweep that paged along the ids before (``{"after": id}``)."""
    due = payload.get("due")
    return (datetime.fromisoformat(str(due)), str(payload.get("id", ""))) if due else None


DELIVERY_RETENTION = "delivery_retention"
DELIVERY_SUBJECT = "housekeeping:deliveries"


@dataclass(frozen=True, slots=True)
class DeliveryRetention:
    """Raw deliveries deleted ``keep`` after they arrived, once decided or ignored (``retention:`` in
    opsdesk.yaml; ADR 0025).

    A delivery's body is the store's payload, personal data included; what the desk made of it stays: the
    decisions with their inputs, the order projection, cases, actions and the audit log. Pending, waiting,
    held and failed deliveries are kept (they are work or evidence). Ids follow arrival, so each firing
    reads the next ``batch`` rows after the last one it read (in its payload), deletes the expired ones, and
    arms itself again: at once while the page held only rows older than the horizon, else ``every`` later
    from the first row it stopped at. The table is never read from its start again.
    """

    keep: timedelta
    every: timedelta = timedelta(hours=1)
    batch: int = 500

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {DELIVERY_RETENTION: self.sweep}

    def first(self, now: datetime) -> Timer:
        """The timer that starts the sweeps, due at once (the sweeper arms it when it starts)."""
        return Timer(DELIVERY_RETENTION, DELIVERY_RETENTION, DELIVERY_SUBJECT, now, {"after": 0})

    def sweep(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``delivery_retention`` timer: one page of deliveries, the expired ones deleted; then the next."""
        after = int(str(timer.payload.get("after", 0)) or 0)
        cursor, _, reached = uow.deliveries.prune(after, self.batch, now - self.keep)
        due = now + self.every if reached else now
        uow.timers.schedule([Timer(DELIVERY_RETENTION, DELIVERY_RETENTION, DELIVERY_SUBJECT, due, {"after": cursor})])
