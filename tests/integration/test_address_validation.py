"""Address validation: the carrier refuses a paid order's address -> the order is held and the customer
asked; a corrected address is checked again and the hold released; no reply in 24 h -> a `fulfilment` case.

Driven by Shopify's `orders/paid` and `orders/updated` samples through the real intake path, a real SQLite
file, the local carrier stand-in refusing the sample's postal code, and the local SMTP stand-in.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.fulfilment_harness import ORDER_ID, START, Run, make_run, paid_order
from tests.samples import delivery

ADDRESSES = {"delayed_fulfilment": {"enabled": False}, "stuck_orders": {"enabled": False}}
ASK = "Please confirm the delivery address for order #9999"


@pytest.fixture
def carrier() -> FakeCarrier:
    with FakeCarrier() as fake:
        fake.reject_zip("40003")  # the postal code of the sample's shipping address
        yield fake  # type: ignore[misc]


@pytest.fixture
def smtp() -> FakeSmtp:
    with FakeSmtp() as fake:
        yield fake  # type: ignore[misc]


def refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp) -> Run:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=ADDRESSES)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()
    return run


def test_a_refused_address_holds_the_order_and_asks_the_customer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = refused(tmp_path, monkeypatch, carrier, smtp)

    [check] = carrier.calls
    assert (check.carrier, check.what, check.status, check.body["address"]["zip"]) == (
        "ups",
        "addresses",
        422,
        "40003",
    )
    [hold] = run.shopify.sent
    assert (hold.kind, hold.payload["reason"], hold.order_id) == (
        "hold_fulfillment",
        "INCORRECT_ADDRESS",
        ORDER_ID,
    )
    assert run.customer_mail(smtp) == [ASK]
    [message] = [m for m in smtp.messages if m.subject == ASK]
    assert "123 Shipping Street, Shippington, 40003, US" in message.body
    assert run.cases() == []  # handled by itself, not an automation failure


def test_a_corrected_address_is_checked_again_and_the_hold_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = refused(tmp_path, monkeypatch, carrier, smtp)
    run.advance(hours=3)
    corrected = paid_order(updated_at=(START + timedelta(hours=3)).isoformat())
    corrected["shipping_address"] = {
        **corrected["shipping_address"],
        "address1": "125 Shipping Street",
        "zip": "40004",
    }

    run.feed(delivery("orders/updated", corrected, "w-fixed"))
    run.settle()

    assert [(c.what, c.status) for c in carrier.calls] == [("addresses", 422), ("addresses", 200)]
    assert [a.kind for a in run.shopify.sent] == ["hold_fulfillment", "release_hold"]
    run.advance(hours=30)
    assert run.cases() == []  # the reply timer was stopped by the answer


def test_no_reply_within_24_hours_is_a_case_for_the_fulfilment_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = refused(tmp_path, monkeypatch, carrier, smtp)
    run.feed(
        delivery(
            "orders/updated",
            paid_order(updated_at=(START + timedelta(hours=1)).isoformat(), tags="vip"),
            "w-tags",
        )
    )  # not an answer: same address
    run.advance(hours=23, minutes=59)
    assert run.cases() == []

    run.advance(minutes=1)

    [case] = run.cases()
    assert (case.kind, case.queue, case.order_id, case.owner) == ("address", "fulfilment", ORDER_ID, "fred")
    assert "carrier said: carrier ups ADDRESS.VERIFY.FAILURE: Address not found" in case.reason
    assert [a.kind for a in run.shopify.sent] == ["hold_fulfillment"]  # still held for the person
    assert len(carrier.calls) == 1
