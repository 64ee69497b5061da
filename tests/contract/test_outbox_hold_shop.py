"""``hold_shop`` on every backend: a shop's pending actions for one provider wait until a time, no others (ADR 0067)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALPHA, BETA = "alpha.myshopify.com", "beta.myshopify.com"


def action(n: int, shop: str = ALPHA, provider: str = "shopify", due: datetime = T0,
           status: ActionStatus = ActionStatus.PENDING) -> OutboxAction:
    return OutboxAction(
        id=f"hold-{n:02d}", decision_id=f"decision-{n}", shop=shop, order_id=n, kind="add_tags", provider=provider,
        payload={"n": n}, idempotency_key=f"opsdesk-hold-{n:02d}", created_at=T0, next_attempt_at=due, status=status,
    )


def test_hold_shop_holds_the_shops_pending_actions_for_the_provider_and_nothing_else(any_db: Database) -> None:
    until = T0 + timedelta(minutes=5)
    actions = [
        action(1), action(2, due=T0 + timedelta(minutes=1)),  # held
        action(3, due=T0 + timedelta(minutes=9)),  # already later: left as it is
        action(4, shop=BETA), action(5, provider="smtp"),  # another shop, another provider
        action(6, status=ActionStatus.SENT),  # done
    ]
    with any_db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    with any_db.unit_of_work() as uow:
        assert uow.outbox.hold_shop("shopify", ALPHA, until) == 2
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        due = {a.id: uow.outbox.get(a.id).next_attempt_at for a in actions}
    assert due == {"hold-01": until, "hold-02": until, "hold-03": T0 + timedelta(minutes=9),
                   "hold-04": T0, "hold-05": T0, "hold-06": T0}


def test_release_shop_makes_the_held_actions_due_now_and_keeps_a_retry_wait_of_their_own(any_db: Database) -> None:
    now, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)

    def retried(n: int, seconds: int) -> OutboxAction:  # its last attempt asked to be tried again in ``seconds``
        entry = {"at": T0.isoformat(), "attempt": 1, "outcome": "retry", "error": "HTTP 503", "retry_in": seconds}
        return replace(action(n, due=T0 + timedelta(seconds=seconds)), attempts=1, history=(entry,))

    held = {"at": T0.isoformat(), "attempt": 0, "outcome": "held", "error": "HTTP 401", "retry_at": until.isoformat()}
    actions = [
        action(1), replace(action(2), history=(held,)),  # held: due now
        retried(3, 120),  # held past its own retry: due at its retry
        retried(4, 900),  # its own retry is later than the hold: left as it is
        action(5, shop=BETA), action(6, provider="smtp"), action(7, status=ActionStatus.SENT),
    ]
    with any_db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.outbox.hold_shop("shopify", ALPHA, until)
        uow.outbox.hold_shop("shopify", BETA, until)
        uow.outbox.hold_shop("smtp", ALPHA, until)
        uow.commit()
    with any_db.unit_of_work() as uow:
        assert uow.outbox.release_shop("shopify", ALPHA, now) == 3
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        stored = {a.id: uow.outbox.get(a.id) for a in actions}
    assert {i: a.next_attempt_at for i, a in stored.items()} == {
        "hold-01": now, "hold-02": now, "hold-03": T0 + timedelta(minutes=2), "hold-04": T0 + timedelta(minutes=15),
        "hold-05": until, "hold-06": until, "hold-07": T0}
    assert [a.attempts for a in stored.values()] == [0, 0, 1, 1, 0, 0, 0]
