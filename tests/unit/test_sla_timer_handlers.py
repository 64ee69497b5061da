"""What the SLA warning and breach timers do when the sweep fires them: tell, record, climb the ladder."""

from __future__ import annotations

from datetime import datetime

from opsdesk.domain.cases import CaseStatus
from opsdesk.engine.timers import make_timer_handlers
from tests.sla_harness import ny
from tests.unit.sla_desk import ORG, Desk, breach, utc

# --- the handlers, fired by a sweep over the in-memory database -------------------------------------


def breached(target: str, at: datetime) -> dict[str, str]:
    return {"target": target, "deadline": utc(at)}


def test_warnings_are_recorded_and_told_when_their_share_of_the_target_is_used() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 2, 11, 40))

    half, most = (f"SLA warning: {p} % of first_response used" for p in (50, 80))
    assert desk.audit("sla.warning") == [
        (ny(2026, 11, 2, 11), "sla.warning", {"target": "first_response", "fraction": 0.5, "message": half}),
        (
            ny(2026, 11, 2, 11, 40),
            "sla.warning",
            {"target": "first_response", "fraction": 0.8, "message": most},
        ),
    ]
    assert desk.told == [("c1", half), ("c1", most)]


def test_a_breach_climbs_the_ladder_one_target_length_at_a_time_owner_then_lead_then_manager() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 3, 12))

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12), "sla.breached", breached("first_response", ny(2026, 11, 2, 12))),
        (ny(2026, 11, 3, 10), "sla.breached", breached("resolution", ny(2026, 11, 3, 10))),
    ]
    # Level 1 leaves the owner (the team) and warns; 2 goes to the team lead, 3 to the manager.
    assert desk.escalations() == [
        (ny(2026, 11, 2, 12), 1, "team:support"),
        (ny(2026, 11, 2, 14), 2, "lee"),
        (ny(2026, 11, 2, 16), 3, "max"),
    ]
    assert desk.case().escalation_level == 3
    assert ("c1", "SLA breached: first_response was due 2026-11-02T17:00:00+00:00") in desk.told


def test_a_warning_made_moot_by_a_pause_does_nothing_and_fires_after_the_resume_instead() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 10, 30), "wait", on="customer")
    desk.sweep_until(ny(2026, 11, 2, 12, 30))
    assert desk.audit("sla.warning", "sla.breached") == []
    desk.act(ny(2026, 11, 2, 14), "resume")
    desk.sweep_until(ny(2026, 11, 2, 14, 30))

    assert [(at, action) for at, action, _ in desk.audit("sla.warning", "sla.breached")] == [
        (ny(2026, 11, 2, 14, 30), "sla.warning")
    ]


def test_a_breach_reached_before_a_pause_still_fires_after_it() -> None:
    desk = Desk()
    desk.open()
    desk.sweep_until(ny(2026, 11, 2, 11, 55))
    # The sweeper is down until after the pause at 12:02: the 12:00 breach is due but not yet fired.
    desk.act(ny(2026, 11, 2, 12, 2), "wait", sweep=False, on="customer")
    desk.sweep_until(ny(2026, 11, 2, 12, 10))

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12, 7), "sla.breached", breached("first_response", ny(2026, 11, 2, 12)))
    ]
    assert desk.case().escalation_level == 1


def test_a_first_response_in_time_silences_its_own_timers_but_not_the_resolutions() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 10, 45), "comment", note="Looking into it")
    desk.sweep_until(ny(2026, 11, 2, 14, 5))

    message = "SLA warning: 50 % of resolution used"
    assert [(at, after) for at, _, after in desk.audit("sla.warning", "sla.breached")] == [
        (ny(2026, 11, 2, 14), {"target": "resolution", "fraction": 0.5, "message": message})
    ]


def test_a_breach_timer_firing_for_a_resolved_case_records_the_breach_and_escalates_nothing() -> None:
    desk = Desk()
    desk.open()
    desk.act(ny(2026, 11, 2, 12, 1), "resolve", sweep=False, resolution="no_action")
    # The case service cancels a resolved case's timers; a stale one that fires anyway is handled too.
    with desk.db.unit_of_work() as uow:
        handler = make_timer_handlers(ORG, lambda: desk.hooks)["sla_breach"]
        handler(uow, breach("first_response", ny(2026, 11, 2, 12)), ny(2026, 11, 2, 12, 5))
        uow.commit()

    assert desk.audit("sla.breached") == [
        (ny(2026, 11, 2, 12, 5), "sla.breached", breached("first_response", ny(2026, 11, 2, 12)))
    ]
    assert (desk.escalations(), desk.case().status) == ([], CaseStatus.RESOLVED)
