"""Invariants of business-time arithmetic and SLA clocks, over random calendars, pauses and instants.

The window (March-April 2026) holds spring-forward gaps (New York, London) and autumn overlaps
(Sydney, Santiago, whose clocks change at midnight). A brute-force oracle counts quarter hours on the
wall clock to check ``business_time_between`` independently.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from opsdesk.domain.calendar import (
    BusinessCalendar,
    Interval,
    add_business_time,
    business_time_between,
    next_open,
)
from opsdesk.domain.sla import (
    CheckpointKind,
    SlaClock,
    SlaPolicy,
    checkpoints,
    deadline,
    escalation_level,
    meet,
    pause,
    resume,
)

WINDOW = (datetime(2026, 3, 1), datetime(2026, 4, 30))
ZONES_WITHOUT_OVERLAPS = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata"]
ZONES = [*ZONES_WITHOUT_OVERLAPS, "Australia/Sydney", "America/Santiago"]
QUARTER = timedelta(minutes=15)
FAST = settings(max_examples=80, deadline=None, database=None)


def quarter(n: int) -> time:
    return time(n // 4 % 24, n % 4 * 15)


def day_hours(marks: list[int]) -> tuple[Interval, ...]:
    """Split shifts from quarter-hour marks paired in order; the 96th quarter is 24:00."""
    marks = sorted(marks)
    return tuple((quarter(a), quarter(b)) for a, b in zip(marks[::2], marks[1::2], strict=False))


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES) -> BusinessCalendar:
    marks = st.lists(st.integers(0, 96), max_size=4, unique=True)
    week = [day_hours(m) for m in draw(st.lists(marks, min_size=7, max_size=7))]
    first = WINDOW[0].date()
    holidays = draw(st.frozensets(st.integers(0, 60), max_size=8))
    # Closures crowd the first month, where the oracle looks, so that they meet open hours often.
    closures = draw(st.lists(st.tuples(st.integers(0, 30 * 96), st.integers(1, 2 * 96)), max_size=4))
    assume(any(week))
    return BusinessCalendar(
        draw(st.sampled_from(zones)),
        dict(enumerate(week)),
        holidays=frozenset(first + timedelta(days=n) for n in holidays),
        closures=tuple((WINDOW[0] + QUARTER * s, WINDOW[0] + QUARTER * (s + n)) for s, n in closures),
    )


instants = st.datetimes(*WINDOW, timezones=st.just(UTC))
durations = st.timedeltas(timedelta(0), timedelta(hours=60))
targets = st.timedeltas(timedelta(minutes=1), timedelta(hours=60))
warn_at = st.lists(st.sampled_from([0.25, 0.5, 0.75, 0.8, 0.9]), unique=True).map(lambda f: tuple(sorted(f)))


@st.composite
def clocks(draw: st.DrawFn) -> SlaClock:
    """A clock that ran, paused and resumed a few times; it may end paused or met."""
    at = draw(instants)
    clock = SlaClock(at)
    for run, rest in draw(st.lists(st.tuples(durations, durations), max_size=3)):
        clock = resume(pause(clock, at + run), at + run + rest)
        at += run + rest
    ending = draw(st.sampled_from(["running", "paused", "met"]))
    later = at + draw(durations)
    return clock if ending == "running" else pause(clock, later) if ending == "paused" else meet(clock, later)


def sla(
    calendar: BusinessCalendar, target: timedelta, fractions: tuple[float, ...] = (0.5, 0.8)
) -> SlaPolicy:
    return SlaPolicy("p", calendar, {"resolution": target}, fractions)


@FAST
@given(calendars(), clocks(), targets)
def test_deadline_is_never_before_the_case_opened(
    cal: BusinessCalendar, clock: SlaClock, target: timedelta
) -> None:
    due = deadline(sla(cal, target), "resolution", clock)
    assert due is None or due > clock.started_at


@FAST
@given(calendars(), instants, durations)
def test_adding_business_time_then_measuring_it_gives_it_back(
    cal: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    end = add_business_time(cal, start, duration)
    assert end >= start
    assert business_time_between(cal, start, end) == duration


@FAST
@given(calendars(), instants, durations)
def test_measuring_business_time_then_adding_it_lands_at_the_end_or_just_before_it(
    cal: BusinessCalendar, start: datetime, span: timedelta
) -> None:
    end = start + span
    back = add_business_time(cal, start, business_time_between(cal, start, end))
    assert back <= end
    assert business_time_between(cal, back, end) == timedelta(0)


@FAST
@given(calendars(), instants, targets, st.floats(0, 0.999), durations)
def test_a_pause_moves_the_deadline_by_exactly_the_business_time_paused(
    cal: BusinessCalendar, opened: datetime, target: timedelta, when: float, length: timedelta
) -> None:
    policy, clock = sla(cal, target), SlaClock(opened)
    before = deadline(policy, "resolution", clock)
    assert before is not None
    paused_at = opened + (before - opened) * when
    after = deadline(policy, "resolution", resume(pause(clock, paused_at), paused_at + length))
    assert after is not None
    paused = business_time_between(cal, paused_at, paused_at + length)
    assert business_time_between(cal, before, after) == paused
    assert after >= before


@FAST
@given(calendars(), instants, targets, st.floats(0, 0.999))
def test_a_pause_while_closed_moves_nothing(
    cal: BusinessCalendar, opened: datetime, target: timedelta, when: float
) -> None:
    policy, clock = sla(cal, target), SlaClock(opened)
    before = deadline(policy, "resolution", clock)
    assert before is not None
    paused_at = opened + (before - opened) * when
    reopens = next_open(cal, paused_at)  # [paused_at, reopens) is closed time
    assert deadline(policy, "resolution", resume(pause(clock, paused_at), reopens)) == before


@FAST
@given(calendars(), clocks(), targets, st.lists(durations, min_size=2, max_size=6))
def test_escalation_level_never_decreases(
    cal: BusinessCalendar, clock: SlaClock, target: timedelta, steps: list[timedelta]
) -> None:
    policy = sla(cal, target)
    moments = [clock.started_at + sum(steps[: i + 1], timedelta(0)) * 3 for i in range(len(steps))]
    levels = [escalation_level(policy, "resolution", clock, now) for now in moments]
    assert levels == sorted(levels)
    assert all(0 <= level <= len(policy.ladder) for level in levels)


@FAST
@given(calendars(), clocks(), targets, warn_at, st.none() | instants)
def test_checkpoints_are_in_order_after_the_start_and_warnings_fall_in_open_time(
    cal: BusinessCalendar,
    clock: SlaClock,
    target: timedelta,
    fractions: tuple[float, ...],
    hard: datetime | None,
) -> None:
    clock = replace(clock, hard_deadline=hard)
    found = checkpoints(sla(cal, target, fractions), "resolution", clock)
    instants_ = [c.at for c in found]
    assert instants_ == sorted(set(instants_))
    assert all(at >= clock.started_at for at in instants_) or (hard is not None and hard < clock.started_at)
    warnings = [c for c in found if c.kind is CheckpointKind.WARNING]
    tick = timedelta(microseconds=1)
    assert all(business_time_between(cal, w.at - tick, w.at) == tick for w in warnings)
    if found and found[-1].kind is CheckpointKind.BREACH:
        assert found[-1].at == deadline(sla(cal, target, fractions), "resolution", clock)


def oracle_business_time(cal: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Quarter hours in ``[a, b)`` whose wall-clock time lies in open hours, counted one by one."""
    zone, total, at = ZoneInfo(cal.timezone), timedelta(0), a
    while at < b:
        local = at.astimezone(zone).replace(tzinfo=None)
        open_hours = () if local.date() in cal.holidays else cal.weekly_hours.get(local.weekday(), ())
        in_hours = any(_within(local.time(), s, e) for s, e in open_hours)
        closed = any(s <= local < e for s, e in cal.closures)
        total += QUARTER if in_hours and not closed else timedelta(0)
        at += QUARTER
    return total


def _within(t: time, start: time, end: time) -> bool:
    return start <= t and (end == time(0) or t < end)


@settings(max_examples=60, deadline=None, database=None)
@given(calendars(ZONES_WITHOUT_OVERLAPS), st.integers(0, 30 * 96), st.integers(0, 4 * 96))
def test_business_time_matches_counting_quarter_hours_on_the_wall_clock(
    cal: BusinessCalendar, start: int, length: int
) -> None:
    a = WINDOW[0].replace(tzinfo=UTC) + QUARTER * start
    b = a + QUARTER * length
    assert business_time_between(cal, a, b) == oracle_business_time(cal, a, b)


def test_window_holds_the_clock_changes_the_properties_rely_on() -> None:
    changes = {
        zone: sorted(
            {
                (WINDOW[0] + timedelta(days=n)).date()
                for n in range(60)
                if ZoneInfo(zone).utcoffset(WINDOW[0] + timedelta(days=n))
                != ZoneInfo(zone).utcoffset(WINDOW[0] + timedelta(days=n + 1))
            }
        )
        for zone in ZONES
    }
    assert changes == {
        "UTC": [],
        "America/New_York": [date(2026, 3, 8)],
        "Europe/London": [date(2026, 3, 29)],
        "Asia/Kolkata": [],
        "Australia/Sydney": [date(2026, 4, 5)],
        "America/Santiago": [date(2026, 4, 4)],
    }
