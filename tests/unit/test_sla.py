"""Worked SLA examples: deadlines on business calendars, pauses, warnings, hard deadlines, the ladder."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsdesk.domain.calendar import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    is_open,
    next_open,
)
from opsdesk.domain.errors import InvalidInput, InvalidPolicy
from opsdesk.domain.sla import (
    Checkpoint,
    CheckpointKind,
    SlaClock,
    SlaPolicy,
    checkpoints,
    deadline,
    due_checkpoints,
    escalation_level,
    escalation_role,
    meet,
    pause,
    resume,
)

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


# --- clocks and deadlines -------------------------------------------------------------------------


def test_waiting_on_the_customer_moves_the_deadline_by_the_business_time_paused() -> None:
    running = SlaClock(ny(2026, 5, 11, 10))  # Monday; 8 hours are due Tuesday 10:00
    paused = pause(running, ny(2026, 5, 11, 14))
    resumed = resume(paused, ny(2026, 5, 12, 11))  # 3 hours on Monday and 2 on Tuesday were paused
    overnight = resume(pause(running, ny(2026, 5, 11, 17, 30)), ny(2026, 5, 12, 8, 30))
    sla = policy()
    assert [deadline(sla, "resolution", c) for c in (running, paused, resumed, overnight)] == [
        ny(2026, 5, 12, 10),
        None,
        ny(2026, 5, 12, 15),
        ny(2026, 5, 12, 10),
    ]
    assert resumed == SlaClock(ny(2026, 5, 11, 10), pauses=((ny(2026, 5, 11, 14), ny(2026, 5, 12, 11)),))


def test_warnings_fall_inside_business_hours_never_at_midnight() -> None:
    clock = SlaClock(ny(2026, 5, 8, 20))  # Friday evening, after hours
    found = checkpoints(policy(), "first_response", clock)
    # On a wall clock the 4-hour breach would be Saturday 00:00; here it is Monday 13:00.
    assert found == [
        Checkpoint(WARN, ny(2026, 5, 11, 11), 0.5),
        Checkpoint(WARN, ny(2026, 5, 11, 12, 12), 0.8),
        Checkpoint(BREACH, ny(2026, 5, 11, 13), 1.0),
    ]
    assert all(is_open(SUPPORT_NY, c.at) for c in found[:2])


def test_due_checkpoints_are_those_in_the_window_and_none_once_met() -> None:
    sla, clock = policy(), SlaClock(ny(2026, 5, 8, 20))
    assert due_checkpoints(sla, "first_response", clock, ny(2026, 5, 8, 20), ny(2026, 5, 11, 12)) == [
        Checkpoint(WARN, ny(2026, 5, 11, 11), 0.5)
    ]
    met = meet(clock, ny(2026, 5, 11, 9, 30))
    assert due_checkpoints(sla, "first_response", met, ny(2026, 5, 8, 20), ny(2026, 5, 12)) == []


def test_hard_deadline_wins_when_earlier() -> None:
    dispute = policy(resolution=hours(24))  # three 8-hour days: Monday 09:00 -> Wednesday 17:00
    opened = ny(2026, 5, 11, 9)
    evidence_due = ny(2026, 5, 12, 12)
    clock = SlaClock(opened, hard_deadline=evidence_due)
    assert deadline(dispute, "resolution", clock) == evidence_due
    assert deadline(dispute, "resolution", SlaClock(opened, hard_deadline=ny(2026, 5, 15, 12))) == ny(
        2026, 5, 13, 17
    )
    # Warnings become fractions of the 11 business hours left before the evidence is due.
    assert checkpoints(dispute, "resolution", clock) == [
        Checkpoint(WARN, ny(2026, 5, 11, 14, 30), 0.5),
        Checkpoint(WARN, ny(2026, 5, 12, 9, 48), 0.8),
        Checkpoint(BREACH, evidence_due, 1.0),
    ]
    # A pause stops the computed clock but not the hard deadline.
    assert deadline(dispute, "resolution", pause(clock, ny(2026, 5, 11, 10))) == evidence_due


def test_escalation_climbs_the_ladder_one_rung_per_target_overdue() -> None:
    sla, clock = policy(), SlaClock(ny(2026, 5, 11, 9))  # first response due Monday 13:00
    moments = [
        ny(2026, 5, 11, 12, 59),
        ny(2026, 5, 11, 13),
        ny(2026, 5, 11, 16, 59),
        ny(2026, 5, 11, 17),  # 4 business hours overdue
        ny(2026, 5, 12, 9),  # the night does not count
        ny(2026, 5, 12, 13),  # 8 business hours overdue
        ny(2026, 5, 20, 9),  # capped at the top of the ladder
    ]
    levels = [escalation_level(sla, "first_response", clock, now) for now in moments]
    assert levels == [0, 1, 1, 2, 2, 3, 3]
    assert [escalation_role(sla, level) for level in levels] == [
        None,
        "owner",
        "owner",
        "team_lead",
        "team_lead",
        "manager",
        "manager",
    ]


def test_escalation_stands_still_while_paused_and_once_met() -> None:
    sla, clock = policy(), SlaClock(ny(2026, 5, 11, 9))
    paused = pause(clock, ny(2026, 5, 11, 14))
    met = meet(clock, ny(2026, 5, 11, 14))
    later = ny(2026, 5, 20, 9)
    assert [escalation_level(sla, "first_response", c, later) for c in (clock, paused, met)] == [3, 1, 1]


def test_hard_deadline_escalates_even_while_paused() -> None:
    sla = policy()
    clock = pause(SlaClock(ny(2026, 5, 11, 9), hard_deadline=ny(2026, 5, 11, 11)), ny(2026, 5, 11, 10))
    levels = [escalation_level(sla, "first_response", clock, ny(2026, 5, 11, h)) for h in (10, 11, 15)]
    assert levels == [0, 1, 2]


@pytest.mark.parametrize(
    ("transition", "message"),
    [
        (lambda c: resume(c, ny(2026, 5, 11, 10)), "only a paused clock can resume"),
        (lambda c: pause(meet(c, ny(2026, 5, 11, 10)), ny(2026, 5, 11, 11)), "met target cannot be paused"),
        (lambda c: pause(pause(c, ny(2026, 5, 11, 10)), ny(2026, 5, 11, 11)), "already paused"),
        (lambda c: meet(meet(c, ny(2026, 5, 11, 10)), ny(2026, 5, 11, 11)), "already met"),
        (lambda c: pause(c, ny(2026, 5, 11, 8)), "before the clock's last change"),
    ],
)
def test_invalid_transitions_are_refused(transition: object, message: str) -> None:
    clock = SlaClock(ny(2026, 5, 11, 9))
    with pytest.raises(InvalidInput, match=message):
        transition(clock)  # type: ignore[operator]


def test_meeting_a_paused_clock_ends_the_pause() -> None:
    clock = pause(SlaClock(ny(2026, 5, 11, 9)), ny(2026, 5, 11, 10))
    assert meet(clock, ny(2026, 5, 11, 11)) == SlaClock(
        ny(2026, 5, 11, 9), pauses=((ny(2026, 5, 11, 10), ny(2026, 5, 11, 11)),), met_at=ny(2026, 5, 11, 11)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": {"resolution": timedelta(0)}}, "longer than zero"),
        ({"warn_at": (0.8, 0.5)}, "warn_at must rise"),
        ({"warn_at": (0.5, 1.0)}, "warn_at must rise"),
        ({"ladder": ()}, "at least one role"),
    ],
)
def test_bad_policies_are_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"targets": {"resolution": hours(8)}, **changes}
    with pytest.raises(InvalidPolicy, match=message):
        SlaPolicy("refunds", SUPPORT_NY, **fields)  # type: ignore[arg-type]


def test_unknown_target_is_refused() -> None:
    with pytest.raises(InvalidPolicy, match="no target 'reply'"):
        deadline(policy(), "reply", SlaClock(ny(2026, 5, 11, 9)))
