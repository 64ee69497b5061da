"""The simulated people of a scenario on the in-memory database: what they take, and how they resolve it."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from opsdesk.domain.cases import Case
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.services.cases import CaseHooks, act, escalate_case, open_case, team_owner
from opsdesk.simulator.people import People
from opsdesk.simulator.scenario import Staffing
from opsdesk.simulator.scorecard import ALL_STATUSES
from opsdesk.testing import InMemoryDatabase
from tests.samples import SHOP

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAY_START = T0 - timedelta(hours=9)  # 09:00 into the people's day: on shift
ORG = Org(
    people={n: Person(n, n.title(), f"{n}@x.example") for n in ("carol", "dan")},
    teams={"ops": Team("ops", ("carol",), lead="carol", manager="dan")},
    queues={q: Queue(q, team="ops") for q in ("pricing", "returns", "fulfilment")},
)
HOOKS = CaseHooks(owner_for=team_owner(ORG))
GID = "gid://shopify/DiscountCodeNode/77"


def record(case_id: str, kind: str, queue: str, **changes: Any) -> CaseRecord:
    order = 5_000_000_000_000_000_000 + len(case_id)  # one order a case: cases about one order join
    base = CaseRecord(id=case_id, shop=SHOP, kind=kind, queue=queue, title=case_id, reason="test",
                      opened_at=T0, order_id=order, source="monitor:test")
    return replace(base, **changes)


def opened(db: InMemoryDatabase, *records: CaseRecord) -> None:
    with db.unit_of_work() as uow:
        for r in records:
            open_case(uow, r, HOOKS, T0)
        uow.commit()


def people(db: InMemoryDatabase, *names: str) -> People:
    desk: Any = SimpleNamespace(db=db, org=ORG, case_hooks=HOOKS)
    return People(desk, Staffing(people=names), DAY_START, random.Random(1))


def sent(db: InMemoryDatabase) -> list[Any]:
    """The outbox actions the resolutions wrote."""
    with db.unit_of_work() as uow:
        return uow.outbox.claim_due(T0 + timedelta(days=1), 10, T0 + timedelta(days=2), "test")


def worked(db: InMemoryDatabase, staff: People) -> dict[str, Case]:
    """Every case after the staff took what they would and finished it."""
    staff.work(T0)
    staff.work(T0 + timedelta(hours=3))  # long after any draw of the pace: their cases are done
    with db.unit_of_work(read_only=True) as uow:
        return {c.id: c for c in uow.cases.search(CaseFilter(status=ALL_STATUSES, active_only=False))}


def test_a_discount_case_is_resolved_by_pausing_the_discount_the_case_names() -> None:
    db = InMemoryDatabase()
    opened(db, record("disc", "discount", "pricing", order_id=None, detail={"discount_id": GID}))
    case = worked(db, people(db, "carol"))["disc"]
    [pause] = sent(db)
    assert (case.status.value, case.resolution, case.person) == ("resolved", "pause_discount", "carol")
    assert (pause.kind, pause.payload["discount_id"]) == ("deactivate_discount", GID)


def test_a_return_label_case_is_resolved_without_refunding_before_the_goods_come_back() -> None:
    db = InMemoryDatabase()
    opened(db, record("label", "return", "returns", detail={"amount": "40.00"}))
    case = worked(db, people(db, "carol"))["label"]
    assert (case.resolution, sent(db)) == ("no_action", [])


def test_a_case_in_progress_handed_back_to_the_team_is_taken_and_finished() -> None:
    db = InMemoryDatabase()
    opened(db, record("late", "fulfilment", "fulfilment"))
    with db.unit_of_work() as uow:  # carol started it; the return timer gave it back to the team
        act(uow, "late", "claim", "carol", T0, HOOKS)
        act(uow, "late", "start", "carol", T0, HOOKS)
        act(uow, "late", "assign", "automation", T0, HOOKS, owner="team:ops")
        uow.commit()
    case = worked(db, people(db, "carol"))["late"]
    assert (case.status.value, case.resolution, case.person) == ("resolved", "no_action", "carol")


def test_the_manager_finishes_what_is_escalated_to_them_and_leaves_the_teams_queue_to_the_team() -> None:
    db = InMemoryDatabase()
    opened(db, record("late", "fulfilment", "fulfilment"), record("escalated", "fulfilment", "fulfilment"))
    with db.unit_of_work() as uow:
        act(uow, "escalated", "claim", "carol", T0, HOOKS)
        act(uow, "escalated", "start", "carol", T0, HOOKS)
        escalate_case(uow, "escalated", 3, "dan", T0, "past the deadline", HOOKS)
        uow.commit()
    cases = worked(db, people(db, "dan"))
    assert (cases["escalated"].status.value, cases["escalated"].person) == ("resolved", "dan")
    assert (cases["late"].status.value, cases["late"].owner) == ("open", "team:ops")


def test_a_scenario_staffed_with_someone_the_organisation_does_not_know_is_refused_naming_them() -> None:
    with pytest.raises(InvalidInput) as refused:
        people(InMemoryDatabase(), "carol", "erin")  # a claim by erin would be refused (ADR 0047)
    assert str(refused.value) == "staffing.people: no person 'erin' under people: in opsdesk.yaml (people: carol, dan)"


def test_a_night_shift_works_cases_at_23_00_and_at_05_00_and_not_at_noon() -> None:
    """A shift whose end is before its start ends the next day; ``22:00-06:00`` worked nothing, ever."""
    db = InMemoryDatabase()
    opened(db, record("first", "fulfilment", "fulfilment"), record("second", "fulfilment", "fulfilment"))
    desk: Any = SimpleNamespace(db=db, org=ORG, case_hooks=HOOKS)
    night = Staffing(people=("carol",), shift=(timedelta(hours=22), timedelta(hours=6)))
    staff = People(desk, night, DAY_START, random.Random(1))

    def claimed_at(hour: float) -> int:
        staff.work(DAY_START + timedelta(hours=hour))
        return staff.stats.claimed

    assert [claimed_at(h) for h in (12, 21.99, 23, 29, 30, 36)] == [0, 0, 1, 2, 2, 2]  # 29: 05:00 the next day
    assert [staff.on_shift(DAY_START + timedelta(hours=h)) for h in (22, 23, 24, 29.99, 30, 12)] == [
        True, True, True, True, False, False]
    with db.unit_of_work(read_only=True) as uow:
        assert {c.id: c.person for c in uow.cases.search(CaseFilter(status=ALL_STATUSES, active_only=False))} == {
            "first": "carol", "second": "carol"}
