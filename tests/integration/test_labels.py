"""Return label failures: retried, moved to the fallback carrier, then a case in `returns`; the dead-man SLA.

Driven by Shopify's own `orders/paid` and `returns/approve` samples through the real intake path, a real
SQLite file, the local carrier stand-in (fakes/carrier.py) and the local SMTP stand-in, on a manual clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.domain.outbox import ActionStatus
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.fulfilment_harness import (
    ORDER_ID,
    RETURN_ID,
    START,
    Run,
    audit_actions,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    make_run,
    paid_order,
)
from tests.samples import delivery, sample


@pytest.fixture
def carrier() -> FakeCarrier:
    with FakeCarrier() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def smtp() -> FakeSmtp:
    with FakeSmtp() as fake:
        yield fake  # type: ignore[misc]


#: The address check on payment would share the carriers' scripted faults: these scenarios leave it out.
LABELS_ONLY = {"address_validation": {"enabled": False}}


def approve_return(run: Run) -> None:
    approve = sample("returns/approve")
    approve["updated_at"] = START.isoformat()
    run.feed(
        delivery("orders/paid", paid_order(), "w-paid"), delivery("returns/approve", approve, "w-approve")
    )
    run.settle()


def test_a_transient_then_permanent_primary_failure_falls_back_to_the_other_carrier_without_a_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(
        tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=LABELS_ONLY, database_url=db_url
    )
    carrier.script("ups", "transient", "permanent")

    approve_return(run)  # first try: 503 CARRIER_NOT_AVAILABLE, retried with backoff
    run.advance(seconds=10)  # the retry: 422 PERMANENT_ERROR -> the fallback carrier

    [label] = carrier.labels
    assert (label["carrier"], label["is_return"], label["reference"]) == (
        "fedex",
        True,
        f"return-{RETURN_ID}",
    )
    assert [(c.carrier, c.status) for c in carrier.calls] == [("ups", 503), ("ups", 422), ("fedex", 201)]
    sender_address = carrier.calls[-1].body["shipment"]["from_address"]
    assert (sender_address["zip"], sender_address["country"]) == ("40003", "US")  # the order's address
    assert run.cases() == []  # handled by itself: no case, no automation failure
    assert run.customer_mail(smtp) == []
    assert audit_actions(run)[-2:] == ["label.fallback", "label.created"]
    run.advance(minutes=20)  # the dead-man deadline was cancelled by the label
    assert run.cases() == []


def test_both_carriers_refusing_makes_a_returns_case_and_tells_the_customer_it_is_in_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=LABELS_ONLY)
    carrier.script("ups", "permanent")
    carrier.script("fedex", "code:DISABLED_SHIPPING_ACCOUNT")

    approve_return(run)

    [case] = run.cases()
    assert (case.queue, case.kind, case.order_id, case.owner) == ("returns", "return", ORDER_ID, "rita")
    assert (case.title, case.detail["return_id"]) == ("Return label missing for order #9999", RETURN_ID)
    assert case.reason == "carrier fedex DISABLED_SHIPPING_ACCOUNT: error DISABLED_SHIPPING_ACCOUNT"
    assert case.due_at == START.replace(hour=19)  # 4 business hours from 10:00 New York: 14:00 New York
    assert run.customer_mail(smtp) == ["Your return label for order #9999 is on its way"]
    assert carrier.labels == []
    run.advance(minutes=20)  # the deadline joins the same case rather than opening another
    assert [c.id for c in run.cases()] == [case.id]
    assert len(run.customer_mail(smtp)) == 1


def test_an_approved_return_without_a_label_after_15_minutes_breaches_the_dead_man_sla(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(
        tmp_path,
        monkeypatch,
        carrier=carrier,
        smtp=smtp,
        monitors={**LABELS_ONLY, "carrier_downtime": {"enabled": False}},
        outbox={"max_attempts": 50},
    )
    carrier.outage("ups", True)  # transient: retried with backoff, not exhausted within 15 minutes

    approve_return(run)
    run.advance(minutes=14)
    assert run.cases() == []

    run.advance(minutes=1)  # 15 minutes after approval

    [case] = run.cases()
    assert (case.queue, case.owner) == ("returns", "rita")
    assert case.reason.startswith(
        "no return label 15 minutes after approval (carrier ups CARRIER_NOT_AVAILABLE"
    )
    assert run.customer_mail(smtp) == ["Your return label for order #9999 is on its way"]


def test_a_label_bought_in_time_stops_the_dead_man_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=LABELS_ONLY)

    approve_return(run)
    run.advance(minutes=30)

    [action] = run.actions("return_label")
    assert (action.status, action.payload["carrier"]) == (ActionStatus.SENT, "ups")
    assert action.idempotency_key == carrier.calls[0].key
    assert len(carrier.labels_for("ups")) == 1
    assert run.cases() == [] and run.customer_mail(smtp) == []


def test_a_primary_carrier_that_stays_down_past_the_retries_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(
        tmp_path,
        monkeypatch,
        carrier=carrier,
        smtp=smtp,
        monitors={**LABELS_ONLY, "carrier_downtime": {"enabled": False}},
    )  # outbox: 3 attempts
    carrier.outage("ups", True)

    approve_return(run)
    run.advance(seconds=2)
    run.advance(seconds=5)  # the third 503: retries exhausted -> the fallback carrier

    assert [(c.carrier, c.status) for c in carrier.calls] == [("ups", 503)] * 3 + [("fedex", 201)]
    [primary] = [a for a in run.actions("return_label") if a.payload["carrier"] == "ups"]
    assert (primary.status, primary.attempts) == (ActionStatus.FAILED, 3)
    assert run.cases() == [] and run.customer_mail(smtp) == []


def test_a_return_approved_before_its_order_is_known_is_caught_by_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=LABELS_ONLY)
    approve = sample("returns/approve")
    approve["updated_at"] = START.isoformat()
    run.feed(delivery("returns/approve", approve, "w-approve"))  # orders/paid never arrived
    run.settle()

    run.advance(minutes=15)

    [case] = run.cases()
    assert (
        case.reason == "no return label 15 minutes after approval (none requested: the order was not known "
        "at approval)"
    )
    assert carrier.calls == []


def test_an_approval_delivered_after_the_return_was_closed_buys_no_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp
) -> None:
    """Shopify retries a failed ``returns/approve`` for hours, in no order: one that comes after the return's
    ``returns/close`` (or a decline) is not news, and no label is bought for goods nobody sends back."""
    run = make_run(tmp_path, monkeypatch, carrier=carrier, smtp=smtp, monitors=LABELS_ONLY)
    approve, close = sample("returns/approve"), sample("returns/close")
    approve["updated_at"] = START.isoformat()
    close["id"] = approve["id"]
    closed_at = START + timedelta(minutes=10)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"),
             delivery("returns/close", close, "w-close", triggered_at=closed_at))
    run.settle()
    run.feed(delivery("returns/approve", approve, "w-approve", triggered_at=START))  # its first try failed
    run.settle()
    run.advance(minutes=30)

    assert run.actions("return_label") == [] and carrier.calls == []
    assert run.cases() == [] and run.customer_mail(smtp) == []
