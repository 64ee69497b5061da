"""What every backend promises about the outbox's actions and their leases, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from opsdesk.domain.errors import NotFound
from opsdesk.domain.outbox import ActionStatus
from opsdesk.ports import Database
from tests.contract.repository_samples import LEASE, OTHER_SHOP, SHOP, SNOWFLAKE_ID, T0, action, at, claim
from tests.contract.transactions import read, write

# Outbox


def test_adding_an_action_again_keeps_the_first(any_db: Database) -> None:
    first = action("a1", history=({"attempt": 1, "outcome": "retry"},), attempts=1, last_error="timeout")
    write(any_db, lambda uow: uow.outbox.add_many([first]))
    write(any_db, lambda uow: uow.outbox.add_many([replace(first, payload={"changed": True}), action("a2")]))

    assert read(any_db, lambda uow: uow.outbox.get("a1")) == first
    assert read(any_db, lambda uow: uow.outbox.count()) == 2
    assert read(any_db, lambda uow: uow.outbox.count("pending")) == 2
    assert read(any_db, lambda uow: uow.outbox.count("sent")) == 0


def test_getting_an_unknown_action_raises_not_found(any_db: Database) -> None:
    with any_db.unit_of_work() as uow, pytest.raises(NotFound):
        uow.outbox.get("nope")


def test_actions_are_listed_per_order_in_creation_order(any_db: Database) -> None:
    actions = [action("b", created_at=at(1)), action("a", created_at=at(1)), action("c", created_at=at(-1)),
               action("other-order", order_id=1), action("other-shop", shop=OTHER_SHOP)]
    write(any_db, lambda uow: uow.outbox.add_many(actions))

    found = read(any_db, lambda uow: uow.outbox.for_order(SHOP, SNOWFLAKE_ID))
    assert [a.id for a in found] == ["c", "a", "b"]


def test_actions_of_one_kind_are_listed_for_many_orders_at_once_each_in_creation_order(any_db: Database) -> None:
    actions = [action("b", created_at=at(1)), action("a", created_at=at(1)), action("c", created_at=at(-1)),
               action("email", kind="email"), action("second", order_id=1), action("other-shop", shop=OTHER_SHOP),
               action("not-asked", order_id=2)]
    write(any_db, lambda uow: uow.outbox.add_many(actions))

    found = read(any_db, lambda uow: uow.outbox.for_orders(SHOP, [SNOWFLAKE_ID, 1, 1, 3], "refund"))
    assert {order_id: [a.id for a in listed] for order_id, listed in found.items()} == {
        SNOWFLAKE_ID: ["c", "a", "b"], 1: ["second"]}
    assert found[1] == [actions[4]]


def test_claiming_returns_only_due_pending_unleased_actions_in_due_order(any_db: Database) -> None:
    actions = [
        action("due-later", due=at(-1)), action("due-first", due=at(-50)), action("due-now", due=T0),
        action("future", due=at(1)),
        action("sent", due=at(-60), status=ActionStatus.SENT),
        action("failed", due=at(-60), status=ActionStatus.FAILED),
        action("leased", due=at(-70)),
    ]
    write(any_db, lambda uow: uow.outbox.add_many(actions))
    assert claim(any_db, "other", at(-30), limit=1) == ["leased"]  # leased until at(30)

    assert claim(any_db, "w1", T0, limit=2) == ["due-first", "due-later"]
    assert claim(any_db, "w2", T0) == ["due-now"]
    assert claim(any_db, "w3", T0) == []
    assert claim(any_db, "w3", at(1)) == ["future"]


def test_claimed_actions_come_back_whole(any_db: Database) -> None:
    stored = action("a1", attempts=3, last_error="503", history=({"attempt": 1}, {"attempt": 2, "error": "503"}))
    write(any_db, lambda uow: uow.outbox.add_many([stored]))

    claimed = write(any_db, lambda uow: uow.outbox.claim_due(T0, 10, T0 + LEASE, "w1"))
    assert claimed == [stored]


def test_an_expired_lease_lets_another_worker_claim_and_the_first_can_no_longer_save(any_db: Database) -> None:
    original = action("a1")
    write(any_db, lambda uow: uow.outbox.add_many([original]))
    assert claim(any_db, "w1", T0) == ["a1"]
    assert claim(any_db, "w2", T0 + LEASE / 2) == []
    assert claim(any_db, "w2", T0 + LEASE + timedelta(microseconds=1)) == ["a1"]

    late = replace(original, status=ActionStatus.SENT, attempts=1)
    assert write(any_db, lambda uow: uow.outbox.save(late, worker="w1")) is False
    assert read(any_db, lambda uow: uow.outbox.get("a1")) == original

    retry = replace(original, attempts=1, last_error="429", next_attempt_at=at(600), history=({"attempt": 1},))
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="w2")) is True
    assert read(any_db, lambda uow: uow.outbox.get("a1")) == retry


def test_saving_releases_the_lease_so_a_retry_is_claimable_when_due(any_db: Database) -> None:
    original = action("a1")
    write(any_db, lambda uow: uow.outbox.add_many([original, action("a2")]))
    assert claim(any_db, "w1", T0) == ["a1", "a2"]

    retry = replace(original, attempts=1, next_attempt_at=at(30))
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="w1")) is True
    assert write(any_db, lambda uow: uow.outbox.save(replace(action("a2"), status=ActionStatus.SENT),
                                                     worker="w1")) is True
    assert write(any_db, lambda uow: uow.outbox.save(retry, worker="never-claimed")) is False

    assert claim(any_db, "w2", at(29)) == []
    assert claim(any_db, "w2", at(30)) == ["a1"]
    assert read(any_db, lambda uow: (uow.outbox.count("pending"), uow.outbox.count("sent"))) == (1, 1)
