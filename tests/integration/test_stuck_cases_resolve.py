"""A stuck order's case resolves itself when the order moves on, unless someone has started on it.

Through the real intake path, on a SQLite file and on PostgreSQL (the db_url fixture), on a manual clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.cases import act
from tests.integration.fulfilment_harness import (
    ORDER_ID,
    START,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    make_run,
    paid_order,
)
from tests.integration.stuck_orders_harness import STUCK, later, shipped_at, smtp, stuck_in_paid
from tests.samples import SHOP, delivery, sample

__all__ = ["smtp"]  # the fixture: the SMTP stand-in


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("fulfillments/create", shipped_at(24.5), "the order shipped"),
        ("orders/partially_fulfilled", later(24.5, fulfillment_status="partial"), "the order partly shipped"),
        (
            "orders/cancelled",
            later(
                24.5, cancelled_at=(START + timedelta(hours=24.5)).isoformat(), financial_status="refunded"
            ),
            "the order was cancelled or refunded",
        ),
    ],
)
def test_a_stuck_case_nobody_has_started_on_resolves_itself_when_the_order_moves_on(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp: FakeSmtp,
    db_url: str,
    topic: str,
    payload: dict[str, Any],
    why: str,
) -> None:
    run, case = stuck_in_paid(tmp_path, monkeypatch, smtp, db_url)

    run.advance(minutes=30)
    run.feed(delivery(topic, payload, "w-moved-on"))
    run.settle()

    assert run.cases() == []  # nobody had started on it: the order is no longer stuck, and the case says so
    with run.desk.db.unit_of_work(read_only=True) as uow:
        settled = uow.cases.get(case.id)
        [last] = uow.cases.timeline(case.id)[-1:]
    assert (settled.status, settled.resolution) == (CaseStatus.RESOLVED, "no_action")
    assert (last.actor, last.note) == ("automation", f"{why}; nothing left to do")


@pytest.mark.parametrize(("status", "what"), [("delivered", "was delivered"), ("picked_up", "was collected")])
def test_a_stuck_in_transit_case_resolves_itself_when_the_parcel_is_delivered_or_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, db_url: str, status: str, what: str
) -> None:
    """Delivered to the door, or collected by the customer at a pickup point: the note says which."""
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK, database_url=db_url)
    run.feed(
        delivery("orders/paid", paid_order(), "w-paid"),
        delivery("orders/fulfilled", later(2, fulfillment_status="fulfilled"), "w-ful"),
        delivery("fulfillments/create", shipped_at(2), "w-fc"),
    )
    run.advance(hours=2)
    run.advance(hours=48)
    [case] = run.cases()
    link = "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"
    assert case.detail["tracking"] == [  # what the person looks the parcel up by (ADR 0065, session 15)
        {"fulfillment_id": 55, "company": "UPS", "parcels": [{"number": "1z827wk74630", "url": link}]}]
    scan = sample("fulfillment_events/create")
    at = (START + timedelta(hours=51)).isoformat()
    scan.update(
        id=66,
        fulfillment_id=55,
        order_id=ORDER_ID,
        status=status,
        happened_at=at,
        created_at=at,
        updated_at=at,
    )

    run.advance(hours=1)
    run.feed(delivery("fulfillment_events/create", scan, "w-scan"))
    run.settle()

    assert run.cases() == []
    with run.desk.db.unit_of_work(read_only=True) as uow:
        [last] = uow.cases.timeline(case.id)[-1:]
    assert (last.actor, last.note) == ("automation", f"the order {what}; nothing left to do")


@pytest.mark.parametrize(
    "update",
    [
        later(24.5, tags="gift"),  # an edit: still paid
        later(24.5, financial_status="partially_refunded"),  # back to an earlier state (pending), not on
    ],
)
def test_a_stuck_case_stays_open_until_the_order_moves_on_from_the_state_it_was_stuck_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, db_url: str, update: dict[str, Any]
) -> None:
    run, case = stuck_in_paid(tmp_path, monkeypatch, smtp, db_url)

    run.feed(delivery("orders/updated", update, "w-upd"))
    run.settle()

    [still] = run.cases()
    assert (still.id, still.status) == (case.id, case.status)


def test_a_stuck_case_someone_has_started_on_stays_theirs_when_the_order_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, db_url: str
) -> None:
    run, case = stuck_in_paid(tmp_path, monkeypatch, smtp, db_url)
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "start", case.owner, run.clock.now(), run.desk.case_hooks)
        uow.commit()

    run.feed(delivery("fulfillments/create", shipped_at(24.5), "w-shipped"))
    run.settle()

    [still] = run.cases()
    assert (still.status, still.resolution) == (CaseStatus.IN_PROGRESS, None)
    assert still.detail["moot"]["why"] == "the order shipped"
    with run.desk.db.unit_of_work(read_only=True) as uow:
        [last] = uow.cases.timeline(case.id)[-1:]
    assert (last.actor, last.kind) == ("automation", "moot")
    run.feed(delivery("orders/updated", later(24.6, tags="gift"), "w-edit"))
    run.advance(minutes=10)  # another update after the shipment; the notifications' batching window passes
    assert run.told(smtp, str(case.owner), f"Case {case.key}: the order shipped: what this case was opened") == 1


def test_orders_that_end_in_one_batch_all_lose_their_timer_and_those_still_open_keep_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, db_url: str
) -> None:
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK, database_url=db_url)
    orders = [ORDER_ID + n for n in range(6)]
    run.feed(*(delivery("orders/paid", paid_order(n), f"w-paid-{n}") for n in orders))
    run.settle()
    ended = orders[::2]
    run.feed(*(delivery("orders/cancelled", paid_order(n, updated_at=(START + timedelta(hours=1)).isoformat(),
                                                        cancelled_at=(START + timedelta(hours=1)).isoformat()),
                        f"w-cancel-{n}") for n in ended))
    run.advance(hours=1)  # the cancellations, in one batch

    with run.desk.db.unit_of_work(read_only=True) as uow:
        armed = uow.timers.pending_many(f"order:{SHOP}:{n}" for n in orders)
    assert sorted(armed) == [f"order:{SHOP}:{n}" for n in orders if n not in ended]
    run.advance(hours=24)
    assert sorted(c.order_id for c in run.cases()) == [n for n in orders if n not in ended]
