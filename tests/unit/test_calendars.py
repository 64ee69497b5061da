"""Building business calendars from configuration text and the ``holidays`` package."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from opsdesk.calendars import build_calendar, public_holidays
from opsdesk.domain.calendar import BusinessCalendar, Weekday, add_business_time
from opsdesk.domain.errors import InvalidInput

LUNCH = ["09:00-12:00", "13:00-17:30"]


def test_builds_the_support_ny_calendar_from_its_configuration() -> None:
    cal = build_calendar(
        "America/New_York",
        {"mon": LUNCH, "tue": LUNCH, "Wed": ["09:00-17:00"], "thu": [], "sat": ["22:00-24:00"]},
        country="US",
        subdivision="NY",
        years=range(2026, 2027),
        closures=[("2026-12-24T13:00", "2026-12-24T17:30")],
    )
    lunch = ((time(9), time(12)), (time(13), time(17, 30)))
    assert cal == BusinessCalendar(
        "America/New_York",
        {
            Weekday.MON: lunch,
            Weekday.TUE: lunch,
            Weekday.WED: ((time(9), time(17)),),
            Weekday.THU: (),
            Weekday.SAT: ((time(22), time(0)),),
        },
        holidays=public_holidays("US", "NY", range(2026, 2027)),
        closures=((datetime(2026, 12, 24, 13), datetime(2026, 12, 24, 17, 30)),),
    )


def test_us_holidays_include_thanksgiving_and_observed_independence_day() -> None:
    found = public_holidays("US", None, range(2026, 2027))
    assert {date(2026, 11, 26), date(2026, 7, 3), date(2026, 12, 25)} <= found
    assert date(2026, 11, 27) not in found
    assert public_holidays("us", None, range(2026, 2027)) == found


def test_subdivision_adds_its_own_holidays() -> None:
    country = public_holidays("US", None, range(2026, 2027))
    new_york = public_holidays("US", "NY", range(2026, 2027))
    assert new_york - country == {date(2026, 2, 12), date(2026, 2, 15), date(2026, 11, 3)}


def test_no_country_means_no_holidays() -> None:
    assert public_holidays(None, None, range(2026, 2027)) == frozenset()


def test_built_calendar_skips_thanksgiving() -> None:
    weekdays = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    cal = build_calendar("America/New_York", weekdays, "US", None, range(2026, 2027))
    opened = datetime(2026, 11, 25, 20, tzinfo=UTC)  # Wednesday 15:00 in New York
    # Wednesday 15:00-17:00, Thanksgiving skipped, Friday 09:00-15:00 (20:00 UTC).
    assert add_business_time(cal, opened, timedelta(hours=8)) == datetime(2026, 11, 27, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "America/Gotham"}, "unknown time zone 'America/Gotham'"),
        (
            {"weekly_hours": {"mon": ["17:00-09:00"]}},
            "bad interval '17:00-09:00': the end must be after the start",
        ),
        ({"weekly_hours": {"mon": ["9-5"]}}, "bad interval '9-5': '9' is not a time of day HH:MM"),
        ({"weekly_hours": {"mon": ["09:00"]}}, "bad interval '09:00': write it as HH:MM-HH:MM"),
        ({"weekly_hours": {"mon": ["09:00-25:00"]}}, "'25:00' is not a time of day"),
        ({"weekly_hours": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "mon: intervals overlap"),
        ({"weekly_hours": {"funday": ["09:00-17:00"]}}, "unknown weekday 'funday'"),
        ({"weekly_hours": {"mon": []}}, "at least one weekday"),
        ({"country": "XX"}, "unknown country code 'XX'"),
        ({"country": "US", "subdivision": "ZZ"}, "unknown subdivision 'ZZ' of US"),
        ({"subdivision": "NY"}, "subdivision 'NY' needs a country"),
        ({"country": "US", "years": range(0)}, "say which years"),
        ({"closures": [("2026-12-24 afternoon", "2026-12-24T17:30")]}, "bad closure time"),
        ({"closures": [("2026-12-24T13:00-05:00", "2026-12-24T17:30")]}, "without offset"),
        ({"closures": [("2026-12-24T17:30", "2026-12-24T13:00")]}, "ends before it starts"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "timezone": "America/New_York",
        "weekly_hours": {"mon": ["09:00-17:00"]},
        "years": range(2026, 2027),
        **kwargs,
    }
    with pytest.raises(InvalidInput, match=message):
        build_calendar(**arguments)  # type: ignore[arg-type]
