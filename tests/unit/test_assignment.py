"""Who owns a case: skills, shifts, least loaded or in turn, on call, the team (the return timer:
``test_case_return_timers``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.services.assignment import order_owner
from opsdesk.testing import InMemoryDatabase
from tests.unit.assignment_org import ORG, SATURDAY_10, case, give, open_cases, pending


def test_least_loaded_gives_the_case_to_the_skilled_person_on_shift_with_fewest_active_cases() -> None:
    db = InMemoryDatabase()
    give(db, "ana", 2)
    give(db, "ben", 1)
    give(db, "ben", 3, status="resolved")  # finished work does not count

    assert open_cases(db, "refunds", 1) == ["ben"]  # cy lacks the skill, dee is inactive, eve is off shift


def test_least_loaded_breaks_ties_by_person_id() -> None:
    db = InMemoryDatabase()
    give(db, "ben", 1)

    assert open_cases(db, "refunds", 3) == ["ana", "ana", "ben"]


def test_a_queue_needing_several_skills_goes_only_to_people_with_all_of_them() -> None:
    db = InMemoryDatabase()
    give(db, "ana", 5)

    assert open_cases(db, "french", 2) == ["ana", "ana"]  # ben lacks fr, cy lacks refunds


def test_only_people_on_shift_are_candidates() -> None:
    db = InMemoryDatabase()

    assert open_cases(db, "refunds", 2, at=datetime(2026, 3, 2, 18, 0, tzinfo=UTC)) == ["eve", "eve"]


def test_round_robin_takes_the_candidates_in_turn() -> None:
    db = InMemoryDatabase()
    give(db, "ana", 3)  # load does not matter in turn

    assert open_cases(db, "general", 7) == ["ben", "cy", "ana", "ben", "cy", "ana", "ben"]


def test_round_robin_skips_people_off_shift_and_goes_on_where_it_was() -> None:
    db = InMemoryDatabase()
    open_cases(db, "general", 2)
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)

    assert open_cases(db, "general", 2, at=evening, prefix="e") == ["eve", "eve"]
    assert open_cases(db, "general", 3, prefix="m") == ["cy", "ana", "ben"]


def test_with_nobody_on_shift_the_case_goes_to_the_on_call_person_of_the_week() -> None:
    db = InMemoryDatabase()

    assert open_cases(db, "refunds", 1, at=SATURDAY_10) == ["ben"]  # week 8 since 2026-01-05: ben
    assert open_cases(db, "refunds", 1, at=SATURDAY_10 + timedelta(days=7), prefix="n") == ["ana"]


def test_with_nobody_on_shift_and_no_rota_the_team_owns_the_case() -> None:
    db = InMemoryDatabase()

    [owner] = open_cases(db, "disputes", 1, at=SATURDAY_10)

    assert owner == "team:nights"
    assert case(db, "c0").status is CaseStatus.OPEN
    assert pending(db, "c0") == []  # no person, no return timer


def test_a_queue_nobody_configured_goes_to_the_default_team() -> None:
    db = InMemoryDatabase()

    assert open_cases(db, "unheard-of", 1) == ["team:ops"]


@pytest.mark.parametrize(("order", "owner"), [
    ({"total": Decimal("600.00"), "tags": []}, "team:vip"),
    ({"total": Decimal("600.00"), "tags": ["wholesale"]}, "team:vip"),  # the first rule that holds wins
    ({"total": Decimal("90.00"), "tags": ["wholesale"]}, "ben"),
    ({"total": Decimal("90.00"), "tags": []}, "team:ops"),
    ({"known": False}, "team:ops"),  # a rule that cannot be evaluated does not hold
])
def test_an_open_order_is_owned_by_the_first_matching_rule_else_the_shop_default(
        order: dict[str, object], owner: str) -> None:
    facts = {"shop": "demo.myshopify.com", "order": order, "event": {}, "customer": {}}

    assert order_owner(ORG, "team:ops", facts) == owner
