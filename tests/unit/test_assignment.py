"""Who owns a case: skills, shifts, least loaded or in turn, on call, the team; and the return timer."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.services.assignment import (
    RETURN_TIMER,
    make_on_changed,
    make_owner_for,
    order_owner,
    return_timer_for,
    timer_handlers,
)
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.services.notify import Notifier
from opsdesk.testing import InMemoryDatabase, ManualClock

DAYS = BusinessCalendar("UTC", {d: ((time(9), time(17)),) for d in range(5)})
NIGHTS = BusinessCalendar("UTC", {d: ((time(17), time(23)),) for d in range(5)})
PEOPLE = [
    Person("ana", "Ana", "ana@x.example", frozenset({"refunds", "fr"}), DAYS),
    Person("ben", "Ben", "ben@x.example", frozenset({"refunds"}), DAYS),
    Person("cy", "Cy", "cy@x.example", frozenset({"fr"}), DAYS),
    Person("dee", "Dee", "dee@x.example", frozenset({"refunds", "fr"}), DAYS, active=False),
    Person("eve", "Eve", "eve@x.example", frozenset({"refunds"}), NIGHTS),
    Person("lea", "Lea", "lea@x.example"),
]
ORG = Org(
    people={p.id: p for p in PEOPLE},
    teams={
        "support": Team("support", ("ana", "ben", "cy", "dee", "eve"), lead="lea", on_call=("ben", "ana")),
        "nights": Team("nights", ("eve",)),
    },
    queues={
        "refunds": Queue("refunds", "support", skills=frozenset({"refunds"})),
        "french": Queue("french", "support", skills=frozenset({"refunds", "fr"})),
        "general": Queue("general", "support", assignment="round_robin"),
        "disputes": Queue("disputes", "nights"),
    },
    order_rules=(("order.total > 500", "team:vip"), ("'wholesale' in order.tags", "ben")),
)
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
NOTIFIER = Notifier(ORG)


def hooks() -> CaseHooks:
    return CaseHooks(owner_for=make_owner_for(ORG), on_changed=make_on_changed(ORG, NOTIFIER))


def record(case_id: str, queue: str, at: datetime = MONDAY_10) -> CaseRecord:
    return CaseRecord(case_id, "demo.myshopify.com", "refund", queue, f"Refund {case_id}", "over the cap", at)


def open_cases(db: InMemoryDatabase, queue: str, count: int, at: datetime = MONDAY_10, prefix: str = "c") -> list[str]:
    """Open ``count`` cases in ``queue``, one transaction each; returns their owners."""
    owners = []
    for i in range(count):
        with db.unit_of_work() as uow:
            owners.append(open_case(uow, record(f"{prefix}{i}", queue, at), hooks(), at).owner or "")
            uow.commit()
    return owners


def give(db: InMemoryDatabase, owner: str, count: int, status: str = "active") -> None:
    """Put ``count`` cases of another queue in ``owner``'s hands (resolved ones when asked)."""
    for i in range(count):
        with db.unit_of_work() as uow:
            case_id = f"load-{owner}-{status}-{i}"
            open_case(uow, record(case_id, "elsewhere"), CaseHooks(), MONDAY_10)
            act(uow, case_id, "assign", "lea", MONDAY_10, CaseHooks(), owner=owner)
            if status == "resolved":
                act(uow, case_id, "resolve", owner, MONDAY_10, CaseHooks(), resolution="no_action")
            uow.commit()


def sweep(db: InMemoryDatabase, now: datetime) -> int:
    """Fire what is due at ``now`` through the timer sweeper; returns how many timers fired."""
    sweeper = TimerSweeper(db, timer_handlers(ORG, hooks, NOTIFIER), ManualClock(now), worker="sweeper")
    sweeper.run_once()
    assert (sweeper.stats.failed, sweeper.stats.retried, sweeper.stats.lost) == (0, 0, 0)
    return sweeper.stats.fired


def case(db: InMemoryDatabase, case_id: str) -> Case:
    with db.unit_of_work() as uow:
        return uow.cases.get(case_id)


def pending(db: InMemoryDatabase, subject: str) -> list[Timer]:
    with db.unit_of_work() as uow:
        return uow.timers.pending(subject)


def told(db: InMemoryDatabase, person: str) -> list[str]:
    """The subjects of the notifications held for ``person``, oldest first."""
    entries: list[AuditEntry] = [
        e for e in db.tables.audit if e.action == "notification.held" and e.subject == f"person:{person}"
    ]
    return [s for e in entries for s in (e.after or {})["subjects"]]


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
