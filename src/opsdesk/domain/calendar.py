"""Business calendars: when a desk is open, and how much open time lies between two instants.

Open time is real elapsed time inside the calendar's open spans. Each span is a local interval of one
day (weekly hours, split shifts allowed) placed on the UTC timeline through the IANA time zone, minus
holidays (whole local dates) and one-off closures. So a 09:00-17:00 day is 8 hours even on the day the
clocks change at 02:00, and a night shift across the change counts the hours that really passed.

Local times that the wall clock shows twice (the autumn overlap) mean their first occurrence; local
times it never shows (the spring gap) mean the moment the clock jumps over them. Both rules keep local
order, so spans never turn inside out on a change day.

Everything goes in and comes out as timezone-aware datetimes (results in UTC); naive ones raise
``ValueError``. The arithmetic walks day by day and skips closed days without converting anything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opsdesk.domain.errors import InvalidInput

#: A local opening interval; an end of ``time(0)`` means midnight at the end of the day (24:00).
Interval = tuple[time, time]
#: A closed stretch in local wall time, e.g. ``(datetime(2026, 12, 24, 13), datetime(2026, 12, 24, 17, 30))``.
Closure = tuple[datetime, datetime]
Span = tuple[datetime, datetime]

MIDNIGHT = time(0)
ONE_DAY = timedelta(days=1)
ZERO = timedelta(0)
ALL_DAY: tuple[Interval, ...] = ((MIDNIGHT, MIDNIGHT),)


class Weekday(enum.IntEnum):
    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Open hours in one time zone: weekly intervals, minus holidays and one-off closures."""

    timezone: str
    weekly_hours: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = frozenset()
    closures: tuple[Closure, ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _week: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = field(init=False, repr=False, compare=False)
    _closed: tuple[Span, ...] = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = _load_zone(self.timezone)
        if unknown := set(self.weekly_hours) - set(Weekday):
            raise InvalidInput(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(unknown)}")
        week = tuple(_checked_day(d, self.weekly_hours.get(d, ())) for d in Weekday)
        if not any(week):
            raise InvalidInput("a calendar needs open hours on at least one weekday")
        closed = tuple(sorted(_checked_closure(c, zone) for c in self.closures))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_week", tuple(tuple(map(_since_midnight, day)) for day in week))
        object.__setattr__(self, "_closed", closed)
        object.__setattr__(
            self, "_always", not self.holidays and not closed and all(d == ALL_DAY for d in week)
        )

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """The 24/7 calendar: business time is wall time."""
        return cls(timezone, dict.fromkeys(Weekday, ALL_DAY))

    @property
    def is_always_open(self) -> bool:
        return self._always


def is_open(cal: BusinessCalendar, at: datetime) -> bool:
    at = _utc(at)
    return cal.is_always_open or any(s <= at < e for s, e in _spans(cal, _local_date(cal, at)))


def next_open(cal: BusinessCalendar, at: datetime) -> datetime:
    """``at`` if the calendar is open then, else the next instant it opens."""
    at = _utc(at)
    if cal.is_always_open:
        return at
    for s, e in _spans_from(cal, at):
        if e > at:
            return max(s, at)
    raise AssertionError("unreachable: a calendar has open hours every week")


def add_business_time(cal: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant when ``duration`` of open time has elapsed after ``start``.

    A duration that runs out exactly at closing time ends then, not at the next opening.
    """
    start = _utc(start)
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    if duration == ZERO or cal.is_always_open:
        return start + duration
    remaining = duration
    for opens, closes in _spans_from(cal, start):
        begin = max(opens, start)
        if closes - begin >= remaining:
            return begin + remaining
        remaining -= max(closes - begin, ZERO)
    raise AssertionError("unreachable: a calendar has open hours every week")


def business_time_between(cal: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Open time in ``[a, b)``; zero when ``b`` is not after ``a``."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return ZERO
    if cal.is_always_open:
        return b - a
    total = ZERO
    for s, e in _spans_from(cal, a):
        if s >= b:
            break
        total += max(min(e, b) - max(s, a), ZERO)
    return total


def _spans_from(cal: BusinessCalendar, at: datetime) -> Iterator[Span]:
    """Open spans in time order, starting with the local day ``at`` falls in; endless."""
    day = _local_date(cal, at)
    while True:
        yield from _spans(cal, day)
        day += ONE_DAY


def _spans(cal: BusinessCalendar, day: date) -> list[Span]:
    """The open spans of one local date, in UTC and in order."""
    hours = cal._week[day.weekday()]
    if not hours or day in cal.holidays:
        return []
    midnight = datetime.combine(day, MIDNIGHT)
    offset = _offset(cal._zone, midnight)
    # Two clock changes in one day that cancel out would fool this test; no zone has had one.
    if offset == _offset(cal._zone, midnight + ONE_DAY):
        base = datetime.combine(day, MIDNIGHT, tzinfo=UTC) - offset
        spans = [(base + s, base + e) for s, e in hours]
    else:
        spans = [(_instant(midnight + s, cal._zone), _instant(midnight + e, cal._zone)) for s, e in hours]
    return _without(spans, cal._closed) if cal._closed else spans


def _without(spans: list[Span], closed: tuple[Span, ...]) -> list[Span]:
    """``spans`` minus the sorted ``closed`` spans."""
    kept: list[Span] = []
    for opens, closes in spans:
        begin = opens
        for shut, reopen in closed:
            if shut >= closes:
                break
            if reopen > begin and shut > begin:
                kept.append((begin, shut))
            begin = max(begin, reopen)
        if begin < closes:
            kept.append((begin, closes))
    return kept


def _instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant the wall clock first shows ``local``, or jumps past it in a spring gap."""
    first, second = _offset(zone, local), _offset(zone, local.replace(fold=1))
    if first >= second:  # unambiguous, or an overlap whose first occurrence has the larger offset
        return (local - first).replace(tzinfo=UTC)
    return _gap_end(local - second, local - first, second, zone)


def _offset(zone: ZoneInfo, local: datetime) -> timedelta:
    """The UTC offset of naive local wall time ``local`` (its ``fold`` picks the occurrence)."""
    offset = zone.utcoffset(local)
    assert offset is not None, "a ZoneInfo always has an offset"
    return offset


def _gap_end(before: datetime, after: datetime, new_offset: timedelta, zone: ZoneInfo) -> datetime:
    """The instant of the clock change between naive-UTC ``before`` and ``after`` (to the second)."""
    lo, hi = 0, int((after - before).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        probe = (before + timedelta(seconds=mid)).replace(tzinfo=UTC)
        lo, hi = (mid, hi) if probe.astimezone(zone).utcoffset() != new_offset else (lo, mid)
    return (before + timedelta(seconds=hi)).replace(tzinfo=UTC)


def _since_midnight(interval: Interval) -> tuple[timedelta, timedelta]:
    start, end = (
        timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)
        for t in interval
    )
    return start, end if end else ONE_DAY


def _local_date(cal: BusinessCalendar, at: datetime) -> date:
    return at.astimezone(cal._zone).date()


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware one")
    return at.astimezone(UTC)


def _load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}: use an IANA name such as 'Europe/London'") from exc


def _checked_day(day: Weekday, hours: tuple[Interval, ...]) -> tuple[Interval, ...]:
    hours = tuple(hours)
    for start, end in hours:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise InvalidInput(f"{day.name.lower()}: opening hours are local times, without a zone")
        if end != MIDNIGHT and end <= start:
            raise InvalidInput(
                f"{day.name.lower()}: interval {start:%H:%M}-{end:%H:%M} ends before it starts"
            )
    for (_, end), (start, _) in pairwise(hours):
        if end == MIDNIGHT or start < end:
            raise InvalidInput(f"{day.name.lower()}: intervals overlap or are out of order at {start:%H:%M}")
    return hours


def _checked_closure(closure: Closure, zone: ZoneInfo) -> Span:
    start, end = closure
    if start.tzinfo is not None or end.tzinfo is not None:
        raise InvalidInput(f"closure {start}..{end}: give local times in the calendar's zone, without offset")
    if end <= start:
        raise InvalidInput(f"closure {start:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M} ends before it starts")
    return _instant(start, zone), _instant(end, zone)
