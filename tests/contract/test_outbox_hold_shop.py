"""``hold_shop`` on every backend: a shop's pending actions for one provider wait until a time, no others (ADR 0067)."""

from __future__ import annotations

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
