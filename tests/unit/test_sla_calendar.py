"""Worked SLA examples on business calendars: weekends, lunch, holidays, closures, clock changes, bad hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from opsdesk.domain.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    is_open,
    next_open,
)
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.sla import SlaClock
from tests.unit.sla_examples import (
    EVERY_DAY_9_TO_5,
    SUPPORT_NY,
    WEEKDAYS_9_TO_5,
    WITH_LUNCH,
    hours,
    london,
    ny,
    utc,
)

# --- the calendar ---------------------------------------------------------------------------------


def test_friday_afternoon_case_is_due_monday_afternoon_in_utc() -> None:
    opened = ny(2026, 5, 8, 16)  # a Friday
    due = [add_business_time(SUPPORT_NY, opened, hours(n)) for n in (1, 7, 8)]
    # 1 hour on Friday, the rest from 09:00 on Monday.
    assert due == [ny(2026, 5, 8, 17), ny(2026, 5, 11, 15), ny(2026, 5, 11, 16)]
    assert due[2] == utc(2026, 5, 11, 20) and due[2].tzinfo is UTC


def test_lunch_break_is_skipped() -> None:
    cal = BusinessCalendar("America/New_York", WITH_LUNCH)
    opened = ny(2026, 5, 12, 11)
    assert add_business_time(cal, opened, hours(2)) == ny(2026, 5, 12, 14)
    assert business_time_between(cal, ny(2026, 5, 12, 0), ny(2026, 5, 13, 0)) == hours(7.5)
    assert [is_open(cal, ny(2026, 5, 12, h, 30)) for h in (11, 12, 13)] == [True, False, True]


def test_thanksgiving_is_skipped() -> None:
    cal = BusinessCalendar("America/New_York", WEEKDAYS_9_TO_5, holidays=frozenset({date(2026, 11, 26)}))
    opened = ny(2026, 11, 25, 15)
    # Wednesday 15:00-17:00, Thursday is Thanksgiving, Friday 09:00-15:00.
    assert add_business_time(cal, opened, hours(8)) == ny(2026, 11, 27, 15)
    assert add_business_time(SUPPORT_NY, opened, hours(8)) == ny(2026, 11, 26, 15)


def test_closure_and_christmas_push_the_deadline_to_monday() -> None:
    cal = BusinessCalendar(
        "America/New_York",
        WITH_LUNCH,
        holidays=frozenset({date(2026, 12, 25)}),
        closures=((datetime(2026, 12, 24, 13), datetime(2026, 12, 24, 17, 30)),),
    )
    opened = ny(2026, 12, 24, 11)
    assert add_business_time(cal, opened, hours(4)) == ny(2026, 12, 28, 12)


def test_closure_in_the_middle_of_a_shift_cuts_it_in_two() -> None:
    cal = BusinessCalendar(
        "America/New_York", WITH_LUNCH, closures=((datetime(2026, 5, 12, 15), datetime(2026, 5, 12, 16)),)
    )
    assert business_time_between(cal, ny(2026, 5, 12, 0), ny(2026, 5, 13, 0)) == hours(6.5)
    assert add_business_time(cal, ny(2026, 5, 12, 14), hours(2)) == ny(2026, 5, 12, 17)


def test_london_spring_forward_day_still_has_eight_business_hours() -> None:
    cal = BusinessCalendar("Europe/London", EVERY_DAY_9_TO_5)
    # Clocks go from 01:00 GMT to 02:00 BST on Sunday 2026-03-29.
    assert business_time_between(cal, london(2026, 3, 29, 0), london(2026, 3, 30, 0)) == hours(8)
    due = add_business_time(cal, london(2026, 3, 28, 16), hours(8))
    assert due == london(2026, 3, 29, 16) == utc(2026, 3, 29, 15)


def test_shift_across_a_clock_change_counts_real_elapsed_time() -> None:
    london_night = BusinessCalendar("Europe/London", {6: ((time(0), time(4)),)})
    ny_night = BusinessCalendar("America/New_York", {6: ((time(0), time(6)),)})
    day = timedelta(days=1)
    assert business_time_between(london_night, utc(2026, 3, 29), utc(2026, 3, 29) + day) == hours(3)
    assert business_time_between(ny_night, utc(2026, 11, 1), utc(2026, 11, 1) + day) == hours(7)
    # 01:30 happens twice in New York on 2026-11-01; an opening time means the first (EDT) one.
    ny_late = BusinessCalendar("America/New_York", {6: ((time(1, 30), time(3)),)})
    assert business_time_between(ny_late, utc(2026, 11, 1), utc(2026, 11, 1) + day) == hours(2.5)


def test_new_york_fall_back_day_still_has_eight_business_hours() -> None:
    cal = BusinessCalendar("America/New_York", EVERY_DAY_9_TO_5)
    # Clocks go from 02:00 EDT back to 01:00 EST on Sunday 2026-11-01.
    assert business_time_between(cal, ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == hours(8)
    due = add_business_time(cal, ny(2026, 10, 31, 16), hours(8))
    assert due == ny(2026, 11, 1, 16) == utc(2026, 11, 1, 21)


def test_hours_starting_in_the_spring_gap_open_when_the_clock_jumps() -> None:
    # 02:00-03:00 does not exist in New York on 2026-03-08; 02:30 is passed at 03:00 EDT (07:00 UTC).
    cal = BusinessCalendar("America/New_York", {6: ((time(2, 30), time(4)),)})
    assert next_open(cal, utc(2026, 3, 8, 6)) == utc(2026, 3, 8, 7)
    assert business_time_between(cal, utc(2026, 3, 8), utc(2026, 3, 9)) == hours(1)


def test_a_24_7_calendar_counts_wall_time_across_the_clock_change() -> None:
    cal = BusinessCalendar.always_open("Europe/London")
    assert cal.is_always_open
    assert add_business_time(cal, london(2026, 3, 28, 12), hours(24)) == london(2026, 3, 29, 13)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_business_time(SUPPORT_NY, datetime(2026, 5, 8, 16), hours(1))
    with pytest.raises(ValueError, match="naive"):
        SlaClock(datetime(2026, 5, 8, 16))


@pytest.mark.parametrize(
    ("hours_of_monday", "message"),
    [
        (((time(17), time(9)),), "ends before it starts"),
        (((time(9), time(13)), (time(12), time(17))), "overlap"),
        (((time(0), time(0)), (time(9), time(10))), "overlap"),
        ((), "at least one weekday"),
    ],
)
def test_bad_weekly_hours_are_refused(hours_of_monday: tuple[tuple[time, time], ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        BusinessCalendar("UTC", {0: hours_of_monday})


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Olympus'"):
        BusinessCalendar("Mars/Olympus", WEEKDAYS_9_TO_5)
