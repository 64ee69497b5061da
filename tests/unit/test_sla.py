"""Worked SLA examples: deadlines, pauses, warnings, hard deadlines, the ladder (the business calendars they
run on: ``test_sla_calendar``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsdesk.domain.calendar import is_open
from opsdesk.domain.errors import InvalidInput, InvalidPolicy
from opsdesk.domain.sla import (
    Checkpoint,
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
from tests.unit.sla_examples import BREACH, SUPPORT_NY, WARN, hours, ny, policy

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
