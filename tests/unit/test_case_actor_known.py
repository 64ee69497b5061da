"""Who may take a case (ADR 0047): a person of the organisation, through the hooks the composition root wires.

On the in-memory database, with ``app.desk_work``'s case hooks for an organisation of alice and bob in ``support``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opsdesk.app import desk_work
from opsdesk.domain.cases import Case
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.records import CaseRecord
from opsdesk.services.cases import CaseHooks, act, open_case, team_owner
from opsdesk.testing import InMemoryDatabase
from tests.samples import SHOP

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUPPORT = Org(
    people={"alice": Person("alice", "Alice"), "bob": Person("bob", "Bob")},
    teams={"support": Team("support", ("alice", "bob"))},
    queues={"refunds": Queue("refunds", "support")},
    default_team="support",
)


def opened(db: InMemoryDatabase, hooks: CaseHooks) -> str:
    """The case of a refund, with the team of its queue (nobody is assigned it on opening)."""
    record = CaseRecord("c1", SHOP, "refund", "refunds", "refund request", "over the cap", T0)
    with db.unit_of_work() as uow:
        case = open_case(uow, record, replace(hooks, owner_for=team_owner(SUPPORT)), T0)
        uow.commit()
    return case.id


def do(db: InMemoryDatabase, hooks: CaseHooks, action: str, actor: str, **params: str) -> str | None:
    with db.unit_of_work() as uow:
        case = act(uow, "c1", action, actor, T0 + timedelta(minutes=5), hooks, lead=True, **params)
        uow.commit()
    return case.owner


def stored(db: InMemoryDatabase) -> tuple[Case, int]:
    with db.unit_of_work(read_only=True) as uow:
        return uow.cases.get("c1"), len(uow.cases.timeline("c1"))


@pytest.mark.parametrize(("action", "params", "verb"), [
    ("claim", {}, "claim"), ("start", {}, "start"), ("assign", {"owner": "dora"}, "take"),
])
def test_a_name_that_is_no_person_takes_no_case_and_the_refusal_names_it_and_the_people(
    action: str, params: dict[str, str], verb: str
) -> None:
    db, (hooks, _) = InMemoryDatabase(), desk_work(SUPPORT)
    opened(db, hooks)
    before = stored(db)
    with pytest.raises(InvalidInput) as refused:
        do(db, hooks, action, "dora", **params)
    assert str(refused.value).startswith(
        f"no person 'dora' on the desk to {verb} case C-1: a case is taken only under a person under people: in "
        "opsdesk.yaml (people: alice, bob);"
    )
    assert stored(db) == before
    assert do(db, hooks, action, "alice", **({"owner": "alice"} if params else {})) == "alice"


def test_a_desk_that_lists_no_people_lets_any_name_take_a_case() -> None:
    db, (hooks, _) = InMemoryDatabase(), desk_work(Org())
    opened(db, hooks)
    assert do(db, hooks, "claim", "dora") == "dora"


def test_a_holder_who_left_people_still_works_the_case_they_hold_but_cannot_take_another() -> None:
    db = InMemoryDatabase()
    with_dora, _ = desk_work(Org(people={**SUPPORT.people, "dora": Person("dora", "Dora")}, teams=SUPPORT.teams,
                                     queues=SUPPORT.queues, default_team="support"))
    opened(db, with_dora)
    do(db, with_dora, "claim", "dora")
    hooks, _ = desk_work(SUPPORT)  # dora is gone from people: (the readiness control names her case)
    assert do(db, hooks, "claim", "dora") == "dora"  # claiming her own case again changes nothing
    assert do(db, hooks, "start", "dora") == "dora"
    with pytest.raises(InvalidInput, match="no person or team 'dora' on the desk"):
        do(db, hooks, "assign", "alice", owner="dora")


def test_a_team_nobody_configured_is_refused_naming_the_teams() -> None:
    db, (hooks, _) = InMemoryDatabase(), desk_work(SUPPORT)
    opened(db, hooks)
    with pytest.raises(InvalidInput) as refused:
        do(db, hooks, "assign", "alice", owner="team:suport")
    assert str(refused.value).endswith("in opsdesk.yaml (teams: support)")
