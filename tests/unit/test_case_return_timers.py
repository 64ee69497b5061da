"""The return timer: a case its owner does not act on goes to the next person, and what stops or skips it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.records import Timer
from opsdesk.services.assignment import RETURN_TIMER, make_on_changed, return_timer_for, timer_handlers
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.testing import InMemoryDatabase
from tests.unit.assignment_org import (
    MONDAY_10,
    NOTIFIER,
    ORG,
    case,
    hooks,
    open_cases,
    pending,
    record,
    sweep,
    told,
)


def test_an_assigned_case_gets_a_return_timer_and_its_owner_is_told() -> None:
    db = InMemoryDatabase()

    open_cases(db, "refunds", 1)

    assert pending(db, "c0") == [
        Timer("c0:return", RETURN_TIMER, "c0", MONDAY_10 + timedelta(minutes=60),
              {"owner": "ana", "since": MONDAY_10.isoformat()})
    ]
    assert told(db, "ana") == ["Case C-1 is now yours: Refund c0"]


def test_an_owner_who_does_not_act_loses_the_case_to_the_next_person_and_the_lead_is_told() -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 1)

    sweep(db, MONDAY_10 + timedelta(minutes=59))
    assert case(db, "c0").owner == "ana"
    sweep(db, MONDAY_10 + timedelta(minutes=60))

    returned = case(db, "c0")
    assert (returned.owner, returned.status) == ("ben", CaseStatus.ASSIGNED)
    with db.unit_of_work() as uow:
        last = uow.cases.timeline("c0")[-1]
    assert (last.actor, last.kind, last.before, last.after, last.note) == (
        "automation", "assigned", {"owner": "ana", "status": "assigned"}, {"owner": "ben", "status": "assigned"},
        "return timer: no action in 60 minutes")
    assert told(db, "lea") == ["Case C-1 went from ana to ben: no action in 60 minutes"]
    assert told(db, "ben") == ["Case C-1 is now yours: Refund c0"]
    assert [t.id for t in pending(db, "c0")] == ["c0:return"]


@pytest.mark.parametrize(("action", "params"), [
    ("comment", {"note": "looking"}),
    ("start", {}),
])
def test_an_owner_who_acts_keeps_the_case_and_the_timer_stops(action: str, params: dict[str, str]) -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 1)
    with db.unit_of_work() as uow:
        act(uow, "c0", action, "ana", MONDAY_10 + timedelta(minutes=30), hooks(), **params)
        uow.commit()

    assert pending(db, "c0") == []  # the case is being worked: slowness is the SLA ladder's to chase
    sweep(db, MONDAY_10 + timedelta(hours=3))
    assert case(db, "c0").owner == "ana"


def test_a_started_case_stays_with_its_owner_until_someone_hands_it_on_and_the_new_owner_idles() -> None:
    db = InMemoryDatabase()
    team_first = CaseHooks(owner_for=lambda *_: "team:support", on_changed=make_on_changed(ORG, NOTIFIER))
    with db.unit_of_work() as uow:
        open_case(uow, record("c0", "refunds"), team_first, MONDAY_10)
        act(uow, "c0", "claim", "ana", MONDAY_10 + timedelta(minutes=5), hooks())
        act(uow, "c0", "start", "ana", MONDAY_10 + timedelta(minutes=5), hooks())
        uow.commit()

    sweep(db, MONDAY_10 + timedelta(hours=2))
    assert (case(db, "c0").owner, case(db, "c0").status, pending(db, "c0")) == ("ana", CaseStatus.IN_PROGRESS, [])

    with db.unit_of_work() as uow:  # handed on: ben has not acted on it, so his timer runs
        act(uow, "c0", "assign", "lea", MONDAY_10 + timedelta(hours=2), hooks(), lead=True, owner="ben")
        uow.commit()
    sweep(db, MONDAY_10 + timedelta(hours=3))
    assert case(db, "c0").owner == "ana"  # on shift, and the least loaded of the others


def test_a_colleagues_comment_does_not_restart_the_owners_timer() -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 1)
    with db.unit_of_work() as uow:
        act(uow, "c0", "comment", "cy", MONDAY_10 + timedelta(minutes=30), hooks(), note="any news?")
        uow.commit()

    sweep(db, MONDAY_10 + timedelta(minutes=60))

    assert case(db, "c0").owner == "ben"


def test_a_timer_that_fires_after_the_owner_acted_changes_nothing() -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 1)
    with db.unit_of_work() as uow:
        stale = uow.timers.pending("c0")[0]
        act(uow, "c0", "start", "ana", MONDAY_10 + timedelta(minutes=5), CaseHooks())  # no hook: timer stays
        handlers = timer_handlers(ORG, hooks, NOTIFIER)
        handlers[RETURN_TIMER](uow, stale, MONDAY_10 + timedelta(minutes=60))
        uow.commit()

    assert case(db, "c0").owner == "ana"


@pytest.mark.parametrize(("action", "params"), [
    ("resolve", {"resolution": "no_action"}),
    ("wait", {"on": "customer"}),
])
def test_a_resolved_or_waiting_case_is_not_taken_back(action: str, params: dict[str, str]) -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 1)
    with db.unit_of_work() as uow:
        act(uow, "c0", action, "ana", MONDAY_10 + timedelta(minutes=5), hooks(), **params)
        uow.commit()

    assert pending(db, "c0") == []  # stopped, not just ignored when it fires
    sweep(db, MONDAY_10 + timedelta(hours=2))

    assert case(db, "c0").owner == "ana"


def test_a_case_that_stops_waiting_gets_a_timer_only_for_an_owner_who_has_not_acted_on_it() -> None:
    db = InMemoryDatabase()
    open_cases(db, "refunds", 2)  # c0 to ana, c1 to ben
    with db.unit_of_work() as uow:
        for case_id, owner in (("c0", "ana"), ("c1", "ben")):
            act(uow, case_id, "wait", owner, MONDAY_10 + timedelta(minutes=5), hooks(), on="customer")
        act(uow, "c1", "assign", "lea", MONDAY_10 + timedelta(minutes=10), hooks(), lead=True, owner="cy")
        for case_id in ("c0", "c1"):
            act(uow, case_id, "resume", "automation", MONDAY_10 + timedelta(hours=3), hooks(), note="replied")
        uow.commit()

    assert {c: [(t.due_at, t.payload["owner"]) for t in pending(db, c)] for c in ("c0", "c1")} == {
        "c0": [], "c1": [(MONDAY_10 + timedelta(hours=4), "cy")]}


def test_with_no_one_else_on_shift_the_case_goes_to_the_person_on_call() -> None:
    db = InMemoryDatabase()
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    open_cases(db, "refunds", 1, at=evening)  # eve, the only one on shift

    sweep(db, evening + timedelta(minutes=60))

    assert case(db, "c0").owner == "ben"  # the on-call person of week 8


def test_with_no_one_else_on_shift_and_no_rota_the_case_returns_to_the_team() -> None:
    db = InMemoryDatabase()
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    open_cases(db, "disputes", 1, at=evening)  # eve, alone in the nights team

    sweep(db, evening + timedelta(minutes=60))

    assert (case(db, "c0").owner, pending(db, "c0")) == ("team:nights", [])


def test_return_timer_for_names_the_owner_and_when_it_started() -> None:
    held = Case("c1", "s", "refund", "refunds", "t", "r", MONDAY_10, owner="ana")

    assert return_timer_for(held, MONDAY_10, timedelta(minutes=30)) == Timer(
        "c1:return", RETURN_TIMER, "c1", MONDAY_10 + timedelta(minutes=30),
        {"owner": "ana", "since": MONDAY_10.isoformat()})
