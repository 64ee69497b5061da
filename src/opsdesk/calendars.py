"""Build business calendars from configuration text, with public holidays from the ``holidays`` package.

The domain's ``BusinessCalendar`` knows nothing of countries; this adapter turns a country and
subdivision into the holiday dates of the given years (observed days included, as the package gives
them), and reads weekly hours like ``{"mon": ["09:00-12:00", "13:00-17:30"]}`` and closures like
``("2026-12-24T13:00", "2026-12-24T17:30")`` (local wall time in the calendar's zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time

import holidays

from opsdesk.domain.calendar import BusinessCalendar, Closure, Interval, Weekday
from opsdesk.domain.errors import InvalidInput

WEEKDAYS = {day.name.lower(): day for day in Weekday}


def build_calendar(
    timezone: str,
    weekly_hours: Mapping[str, Sequence[str]],
    country: str | None = None,
    subdivision: str | None = None,
    years: range = range(0),
    closures: Iterable[tuple[str, str]] = (),
) -> BusinessCalendar:
    """A calendar from its configuration; raises ``InvalidInput`` naming what is wrong."""
    return BusinessCalendar(
        timezone=timezone,
        weekly_hours={_weekday(name): tuple(map(_interval, spans)) for name, spans in weekly_hours.items()},
        holidays=public_holidays(country, subdivision, years),
        closures=tuple(_closure(start, end) for start, end in closures),
    )


def public_holidays(country: str | None, subdivision: str | None, years: range) -> frozenset[date]:
    """The holiday dates of ``country`` (and ``subdivision``) in ``years``; none without a country."""
    if country is None:
        if subdivision is not None:
            raise InvalidInput(f"holiday subdivision {subdivision!r} needs a country")
        return frozenset()
    if not years:
        raise InvalidInput(f"say which years to take {country}'s holidays for")
    supported: dict[str, list[str]] = holidays.list_supported_countries()
    country = country.upper()
    if country not in supported:
        raise InvalidInput(
            f"unknown country code {country!r}: the holidays package knows e.g. US, GB, DE, FR"
        )
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=years)
    except NotImplementedError as exc:
        some = ", ".join(supported[country][:8]) or "none"
        raise InvalidInput(f"unknown subdivision {subdivision!r} of {country} (known: {some}, ...)") from exc
    return frozenset(found.keys())


def _weekday(name: str) -> Weekday:
    try:
        return WEEKDAYS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(f"unknown weekday {name!r}: use one of {', '.join(WEEKDAYS)}") from None


def _interval(text: str) -> Interval:
    """``"09:00-17:30"`` -> local times; ``24:00`` ends a day at midnight."""
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise InvalidInput(f"bad interval {text!r}: write it as HH:MM-HH:MM, e.g. 09:00-17:30")
    start, end = _clock(start_text, text), _clock(end_text, text, end=True)
    if end != time(0) and end <= start:
        raise InvalidInput(f"bad interval {text!r}: the end must be after the start (use 24:00 for midnight)")
    return start, end


def _clock(part: str, text: str, *, end: bool = False) -> time:
    part = part.strip()
    if end and part == "24:00":
        return time(0)
    try:
        if len(part) != 5:
            raise ValueError(part)
        return time.fromisoformat(part)
    except ValueError:
        raise InvalidInput(f"bad interval {text!r}: {part!r} is not a time of day HH:MM") from None


def _closure(start: str, end: str) -> Closure:
    return _local(start), _local(end)


def _local(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"bad closure time {text!r}: write it as YYYY-MM-DDTHH:MM") from None
    return at  # the calendar refuses times with an offset: closures are local wall time
