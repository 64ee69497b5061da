"""The time zones, business calendars and policies the worked SLA examples are written in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.sla import CheckpointKind, SlaPolicy

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_TO_5 = {day: ((time(9), time(17)),) for day in range(5)}
EVERY_DAY_9_TO_5 = {day: ((time(9), time(17)),) for day in range(7)}
WITH_LUNCH = {day: ((time(9), time(12)), (time(13), time(17, 30))) for day in range(5)}
SUPPORT_NY = BusinessCalendar("America/New_York", WEEKDAYS_9_TO_5)
WARN = CheckpointKind.WARNING
BREACH = CheckpointKind.BREACH


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def policy(calendar: BusinessCalendar = SUPPORT_NY, **targets: timedelta) -> SlaPolicy:
    return SlaPolicy("refunds", calendar, targets or {"first_response": hours(4), "resolution": hours(8)})
