"""SLA policies and clocks: deadlines in business time, warnings before the breach, an escalation ladder.

A policy names its targets (``first_response``, ``resolution``, custom ones), each a length of open
time on the policy's calendar (wall time when the calendar is 24/7). A clock runs for one target of one
case: it starts, may pause while the case waits on the customer or a supplier, and is met once. Paused
time never counts, so a deadline moves out by exactly the open time spent paused, and a pause that lies
wholly in closed hours moves nothing. A hard deadline (a dispute's evidence-due date) caps the computed
one and, unlike the computed one, keeps running through pauses.

Time is always passed in; every result is a timezone-aware UTC datetime.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import assert_never

from opsdesk.domain.calendar import BusinessCalendar, add_business_time, business_time_between
from opsdesk.domain.errors import InvalidInput, InvalidPolicy

ZERO = timedelta(0)
#: Stretches of running time; the last one is open-ended (``None``) while the clock is not paused.
Segments = list[tuple[datetime, datetime | None]]


class ClockState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"


class CheckpointKind(enum.Enum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A moment a timer fires: a warning at ``fraction`` of the target, or the breach (fraction 1)."""

    kind: CheckpointKind
    at: datetime
    fraction: float


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    name: str
    calendar: BusinessCalendar
    targets: Mapping[str, timedelta]
    warn_at: tuple[float, ...] = (0.5, 0.8)
    ladder: tuple[str, ...] = ("owner", "team_lead", "manager")

    def __post_init__(self) -> None:
        if bad := sorted(name for name, length in self.targets.items() if length <= ZERO):
            raise InvalidPolicy(f"SLA policy {self.name!r}: targets must be longer than zero: {bad}")
        if any(not 0 < f < 1 for f in self.warn_at) or list(self.warn_at) != sorted(set(self.warn_at)):
            raise InvalidPolicy(
                f"SLA policy {self.name!r}: warn_at must rise between 0 and 1, got {self.warn_at}"
            )
        if not self.ladder:
            raise InvalidPolicy(f"SLA policy {self.name!r}: the escalation ladder needs at least one role")


@dataclass(frozen=True, slots=True)
class SlaClock:
    """The clock of one target of one case; pauses are closed ``(start, end)`` intervals."""

    started_at: datetime
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    paused_since: datetime | None = None
    met_at: datetime | None = None
    hard_deadline: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _utc(self.started_at))
        object.__setattr__(self, "pauses", tuple((_utc(s), _utc(e)) for s, e in self.pauses))
        for name in ("paused_since", "met_at", "hard_deadline"):
            if (at := getattr(self, name)) is not None:
                object.__setattr__(self, name, _utc(at))

    @property
    def state(self) -> ClockState:
        if self.met_at is not None:
            return ClockState.MET
        return ClockState.RUNNING if self.paused_since is None else ClockState.PAUSED

    @property
    def last_change(self) -> datetime:
        return max([self.started_at, *(end for _, end in self.pauses), self.paused_since or self.started_at])


def get_target(policy: SlaPolicy, target: str) -> timedelta:
    try:
        return policy.targets[target]
    except KeyError:
        raise InvalidPolicy(f"SLA policy {policy.name!r} has no target {target!r}") from None


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop the clock, e.g. while the case waits on the customer."""
    match clock.state:
        case ClockState.RUNNING:
            return replace(clock, paused_since=_not_before(clock, at))
        case ClockState.PAUSED:
            raise InvalidInput(f"the clock is already paused since {clock.paused_since}")
        case ClockState.MET:
            raise InvalidInput("a met target cannot be paused")
        case _:
            assert_never(clock.state)


def resume(clock: SlaClock, at: datetime) -> SlaClock:
    match clock.state:
        case ClockState.PAUSED:
            return replace(clock, pauses=_closed_pauses(clock, at), paused_since=None)
        case ClockState.RUNNING | ClockState.MET:
            raise InvalidInput(f"only a paused clock can resume; this one is {clock.state.value}")
        case _:
            assert_never(clock.state)


def meet(clock: SlaClock, at: datetime) -> SlaClock:
    """Record that the target was met; a paused clock's pause ends at the same moment."""
    match clock.state:
        case ClockState.RUNNING:
            return replace(clock, met_at=_not_before(clock, at))
        case ClockState.PAUSED:
            pauses = _closed_pauses(clock, at)
            return replace(clock, pauses=pauses, paused_since=None, met_at=pauses[-1][1])
        case ClockState.MET:
            raise InvalidInput(f"the target was already met at {clock.met_at}")
        case _:
            assert_never(clock.state)


def deadline(policy: SlaPolicy, target: str, clock: SlaClock) -> datetime | None:
    """When the target breaches; ``None`` while paused without a hard deadline (the clock stands still)."""
    computed = _reach(policy.calendar, _running(clock), get_target(policy, target))
    candidates = [at for at in (computed, clock.hard_deadline) if at is not None]
    return min(candidates) if candidates else None


def checkpoints(policy: SlaPolicy, target: str, clock: SlaClock) -> list[Checkpoint]:
    """The warnings at each of the policy's fractions, then the breach, in time order.

    Warnings are fractions of open time, so they fall in open hours. When the hard deadline comes
    first, they are fractions of the open time left before it.
    """
    cal, segments = policy.calendar, _running(clock)
    breach, base = _breach_and_base(cal, segments, get_target(policy, target), clock.hard_deadline)
    warnings = [
        Checkpoint(CheckpointKind.WARNING, at, fraction)
        for fraction in policy.warn_at
        if base * fraction > ZERO
        and (at := _reach(cal, segments, base * fraction)) is not None
        and (breach is None or at < breach)
    ]
    return warnings + ([Checkpoint(CheckpointKind.BREACH, breach, 1.0)] if breach is not None else [])


def due_checkpoints(
    policy: SlaPolicy, target: str, clock: SlaClock, after: datetime, until: datetime
) -> list[Checkpoint]:
    """The checkpoints in ``(after, until]`` that should fire; a met target fires none."""
    if clock.met_at is not None:
        return []
    return [c for c in checkpoints(policy, target, clock) if after < c.at <= until]


def escalation_level(policy: SlaPolicy, target: str, clock: SlaClock, now: datetime) -> int:
    """0 before the breach, 1 at it, one more per further full target overdue, capped at the ladder.

    Overdue time is counted like the target (open time, pauses excluded), so the level never falls
    as ``now`` grows and stands still while the clock does.
    """
    cal, length = policy.calendar, get_target(policy, target)
    stop = min(now, clock.met_at) if clock.met_at is not None else now
    counted = _counted(cal, _running(clock), stop)
    level = 0 if counted < length else 1 + (counted - length) // length
    if clock.hard_deadline is not None and stop >= clock.hard_deadline:
        level = max(level, 1 + business_time_between(cal, clock.hard_deadline, stop) // length)
    return min(level, len(policy.ladder))


def escalation_role(policy: SlaPolicy, level: int) -> str | None:
    """The rung of the ladder a level reaches (``None`` at level 0)."""
    return policy.ladder[min(level, len(policy.ladder)) - 1] if level > 0 else None


def counted_time(policy: SlaPolicy, clock: SlaClock, now: datetime) -> timedelta:
    """Open time the clock has run by ``now`` (pauses excluded, nothing after it was met)."""
    stop = min(now, clock.met_at) if clock.met_at is not None else now
    return _counted(policy.calendar, _running(clock), stop)


def _breach_and_base(
    cal: BusinessCalendar, segments: Segments, length: timedelta, hard: datetime | None
) -> tuple[datetime | None, timedelta]:
    """The breach instant and the open time the warnings are fractions of."""
    computed = _reach(cal, segments, length)
    if hard is None or (computed is not None and computed <= hard):
        return computed, length
    return hard, _counted(cal, segments, hard) if computed is not None else length


def _running(clock: SlaClock) -> Segments:
    starts = [clock.started_at, *(end for _, end in clock.pauses)]
    ends: list[datetime | None] = [*(start for start, _ in clock.pauses), clock.paused_since]
    return list(zip(starts, ends, strict=True))


def _reach(cal: BusinessCalendar, segments: Segments, amount: timedelta) -> datetime | None:
    """The first instant the running segments hold ``amount`` of open time, if they ever do."""
    for start, end in segments:
        held = business_time_between(cal, start, end) if end is not None else amount
        if held >= amount:
            return add_business_time(cal, start, amount)
        amount -= held
    return None


def _counted(cal: BusinessCalendar, segments: Segments, until: datetime) -> timedelta:
    return sum(
        (
            business_time_between(cal, start, until if end is None else min(end, until))
            for start, end in segments
        ),
        ZERO,
    )


def _utc(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware one")
    return at.astimezone(UTC)


def _not_before(clock: SlaClock, at: datetime) -> datetime:
    at = _utc(at)
    if at < clock.last_change:
        raise InvalidInput(f"{at.isoformat()} is before the clock's last change at {clock.last_change}")
    return at


def _closed_pauses(clock: SlaClock, at: datetime) -> tuple[tuple[datetime, datetime], ...]:
    assert clock.paused_since is not None
    return (*clock.pauses, (clock.paused_since, _not_before(clock, at)))
