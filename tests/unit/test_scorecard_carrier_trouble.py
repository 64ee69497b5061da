"""The scorecard's carrier-trouble section: what counts as the desk handling a parcel the carrier had trouble with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.domain.cases import Case
from opsdesk.domain.records import OutboxAction
from opsdesk.simulator.trouble_score import carrier_trouble
from opsdesk.simulator.truth import Trouble, Truth
from opsdesk.testing import InMemoryDatabase

SHOP = "demo-store.myshopify.com"
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
H = timedelta(hours=1)


def case(order_id: int, at: datetime) -> Case:
    return Case(f"c-{order_id}-{at:%d%H%M}", SHOP, "fulfilment", "fulfilment", "t", "r", at, order_id=order_id)


def email(order_id: int, at: datetime, template: str = "carrier_needs_buyer") -> OutboxAction:
    return OutboxAction(f"a-{order_id}-{template}", f"d-{order_id}", SHOP, order_id, "email", "email",
                        {"template": template}, f"k-{order_id}-{template}", at, at)


def test_each_parcel_is_judged_by_what_its_path_needed() -> None:
    truth = Truth("t", 1, SHOP, T0 - 9 * H, T0 + 15 * H, T0 + 10 * 24 * H)
    truth.trouble = [
        Trouble(1, "buyer_action", T0, "delivered", T0 + 30 * H, T0 + 20 * H),  # acted in time: an email only
        Trouble(2, "buyer_action", T0, "returned", T0 + 9 * 24 * H),  # never acted: an email, then a case
        Trouble(3, "buyer_action", T0, "returned", T0 + 8 * 24 * H),  # never acted, never told, no case
        Trouble(4, "returned_to_sender", T0, "returned", T0 + 2 * 24 * H),  # a case two hours after it went back
        Trouble(5, "returned_to_sender", T0, "returned", T0 + 3 * 24 * H),  # nobody looked
        Trouble(6, "pickup", T0, "collected", T0 + 5 * H),  # a case about it was not needed
        Trouble(7, "attempted_delivery", T0, "delivered", T0 + 24 * H),  # an older case is another story
        Trouble(8, "returned_to_sender", T0, "returned", T0 + 11 * 24 * H),  # goes back after the horizon
    ]
    truth.needs_person = {2: "buyer never acted", 3: "buyer never acted", 4: "returned to sender",
                          5: "returned to sender"}
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.outbox.add_many([email(1, T0 + 0.1 * H), email(2, T0 + 0.2 * H), email(3, T0 + H, "carrier_delay_notice"),
                             email(6, T0 - H)])
        uow.commit()
    cases = [case(2, T0 + 72 * H), case(4, T0 + 50 * H), case(6, T0 + 2 * H), case(7, T0 - H), case(1, T0 - H)]
    with db.unit_of_work(read_only=True) as uow:
        card = carrier_trouble(uow, truth, cases, 72)
    assert card == {
        "parcels": {"returned_to_sender": 3, "buyer_action": 3, "attempted_delivery": 1, "pickup": 1},
        "buyer_action": {
            "parcels": 3,
            "customer_emailed": 2,
            "not_emailed": [3],
            "emailed_after_seconds": {"median": 540, "max": 720},
            "buyer_acted": 1,
            "still_waiting_after_hours": 72.0,
            "still_waiting": 2,
            "still_waiting_with_a_case": 1,
            "still_waiting_without_a_case": [3],
        },
        "returned_to_sender": {
            "parcels": 4,
            "with_a_case": 2,
            "without_a_case": [3, 5],
            "case_after_seconds": {"median": 3600, "max": 7200},
        },
        "cases_not_needed": {"count": 1, "orders": [6]},
    }
