"""Stuck orders: no change past the threshold for the order's state -> a case for the order's owner, who is
told at once (the nudge) and loses it to the next person if they do not act (the return timer).

Driven by Shopify's `orders/paid`, `orders/updated`, `fulfillments/create` and `fulfillment_events/create`
samples through the real intake path and a real SQLite file, on a manual clock.
How a stuck case resolves itself when the order moves on is in ``test_stuck_cases_resolve``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.fulfilment_harness import (
    ORDER_ID,
    START,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    make_run,
    paid_order,
)
from tests.integration.stuck_orders_harness import STUCK, later, smtp
from tests.samples import delivery, sample

__all__ = ["smtp"]  # the fixture: the SMTP stand-in


def test_an_order_without_progress_past_its_threshold_goes_to_its_owner_then_to_the_next_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()

    run.advance(hours=23)
    run.feed(delivery("orders/updated", later(23, tags="gift"), "w-upd"))  # progress: the clock restarts
    run.advance(hours=1)
    assert run.cases() == []
    run.advance(hours=22, minutes=59)
    assert run.cases() == []

    run.advance(minutes=1)  # 24 hours after the last change (Wednesday 10:00 New York)

    [case] = run.cases()
    assert (case.kind, case.queue, case.order_id, case.owner) == (
        "stuck_order",
        "fulfilment",
        ORDER_ID,
        "olga",
    )
    assert case.title == "Order #9999 is stuck (paid)"
    assert case.reason.startswith("no change for 24 hours (threshold 24 h); last: order.updated")
    run.advance(minutes=5)  # the batching window of notifications
    assert any(m.to == "olga@example.com" and "Order #9999 is stuck" in m.body for m in smtp.messages)

    run.advance(minutes=60)  # olga did nothing: the return timer hands the case on

    [case] = run.cases()
    assert case.owner == "fred"


def test_a_delivered_order_is_final_and_never_reported_stuck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK)
    fulfilment = sample("fulfillments/create")
    fulfilment.update(
        id=55,
        order_id=ORDER_ID,
        status="success",
        created_at=(START + timedelta(hours=2)).isoformat(),
        updated_at=(START + timedelta(hours=2)).isoformat(),
    )
    scan = sample("fulfillment_events/create")
    scan.update(
        id=66,
        fulfillment_id=55,
        order_id=ORDER_ID,
        status="delivered",
        happened_at=(START + timedelta(hours=30)).isoformat(),
        created_at=(START + timedelta(hours=30)).isoformat(),
        updated_at=(START + timedelta(hours=30)).isoformat(),
    )
    run.feed(
        delivery("orders/paid", paid_order(), "w-paid"),
        delivery("orders/fulfilled", later(2, fulfillment_status="fulfilled"), "w-ful"),
        delivery("fulfillments/create", fulfilment, "w-fc"),
    )
    run.advance(hours=2)
    run.advance(hours=28)
    run.feed(delivery("fulfillment_events/create", scan, "w-scan"))
    run.settle()

    run.advance(days=10)

    assert run.cases() == []


def test_a_shipped_order_without_a_carrier_scan_past_its_threshold_is_stuck_in_transit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK)
    run.feed(
        delivery("orders/paid", paid_order(), "w-paid"),
        delivery("orders/fulfilled", later(2, fulfillment_status="fulfilled"), "w-ful"),
    )
    run.advance(hours=2)

    run.advance(hours=48)

    [case] = run.cases()
    assert case.title == "Order #9999 is stuck (fulfilled)"
    assert case.owner == "olga"


def test_a_stuck_order_that_already_has_a_case_joins_it_instead_of_opening_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    monitors = {
        "stuck_orders": {"thresholds": {"paid": 96}},
        "delayed_fulfilment": {"cadence_hours": 24, "case_after_hours": 24},
        "address_validation": {"enabled": False},
    }
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=monitors)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()
    run.advance(hours=72)  # ship-by (48 h after payment) plus 24 h late: the delayed-fulfilment case
    [late] = run.cases()
    assert late.kind == "fulfilment"

    run.advance(hours=24)  # 96 h without a change: stuck as well, about the same order

    [case] = run.cases()
    assert case.id == late.id
    with run.desk.db.unit_of_work(read_only=True) as uow:
        kinds = [change.kind for change in uow.cases.timeline(case.id)]
    assert kinds.count("signal") == 1  # the stuck signal, on the case that was already there


def unpaid_order(order_id: int, gateways: list[str]) -> dict[str, Any]:
    return paid_order(order_id, financial_status="pending", payment_gateway_names=gateways)


def test_an_unpaid_order_on_a_slow_payment_method_waits_for_its_own_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    monitors = {"delayed_fulfilment": {"enabled": False}, "address_validation": {"enabled": False}}
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=monitors)  # the default thresholds
    card, transfer = ORDER_ID, ORDER_ID + 1
    run.feed(
        delivery("orders/create", unpaid_order(card, ["shopify_payments"]), "w-card"),
        delivery("orders/create", unpaid_order(transfer, ["manual"]), "w-transfer"),
    )
    run.settle()
    run.advance(minutes=30)  # the payment re-check's signal (payment.overdue): the orders' last event

    run.advance(hours=24)
    [case] = run.cases()
    assert (case.order_id, case.detail["stage"]) == (card, "pending")
    assert case.reason.startswith("no change for 24 hours (threshold 24 h); last: payment.overdue")
    run.advance(hours=5, minutes=30)  # unpaid for 30 hours: late for a card, not for a bank transfer
    assert [c.order_id for c in run.cases()] == [card]

    run.advance(hours=66, minutes=29)
    assert [c.order_id for c in run.cases()] == [card]
    run.advance(minutes=1)  # 96 hours after the last event: the manual gateway's threshold

    [late] = [c for c in run.cases() if c.order_id == transfer]
    assert (late.kind, late.title, late.detail["stage"]) == ("stuck_order", "Order #9999 is stuck (pending)", "pending")
    assert late.reason.startswith("no change for 96 hours (threshold 96 h for manual); last: payment.overdue")
