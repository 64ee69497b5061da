"""The carrier label connector against the local carrier stand-in: outcomes, idempotency, fault knobs.

Every test runs twice: over a real HTTP server, and in memory through the stand-in's transport (what the
simulator uses, ADR 0018): the two must give the same outcomes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from opsdesk.connectors.carrier import CarrierLabels
from opsdesk.domain.carriers import RETURN_LABEL, VERIFY_ADDRESS, Failure, classify, code_of
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, idempotency_key
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.carrier import FakeCarrier

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ADDRESS = {
    "name": "Steve Shipper",
    "street1": "123 Shipping Street",
    "city": "Shippington",
    "zip": "40003",
    "country": "US",
}


@pytest.fixture(params=["socket", "memory"])
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(wire: str) -> Iterator[FakeCarrier]:
    carrier = FakeCarrier() if wire == "memory" else FakeCarrier().start()
    yield carrier
    carrier.stop()


@pytest.fixture
def labels(fake: FakeCarrier, wire: str) -> Iterator[CarrierLabels]:
    carriers = {"ups": (fake.url_for("ups"), None), "fedex": (fake.url_for("fedex"), None)}
    transport = fake.transport() if wire == "memory" else None
    with CarrierLabels(carriers, return_address={"zip": "10001"}, timeout=0.5, transport=transport) as connector:
        yield connector


def action(kind: str = RETURN_LABEL, carrier: str = "ups", key: str = "a1") -> OutboxAction:
    payload = {"carrier": carrier, "return_id": 7, "address": ADDRESS}
    return OutboxAction(key, "d", "shop", 1, kind, "carrier", payload, idempotency_key(key), AT, AT)


def test_a_return_label_is_bought_once_per_idempotency_key(fake: FakeCarrier, labels: CarrierLabels) -> None:
    first = labels.send(action())
    again = labels.send(action())

    assert (
        first
        == again
        == Delivered(
            {
                "carrier": "ups",
                "label_id": "shp_ups_1",
                "tracking_code": "UPS0000000001",
                "label_url": "https://labels.invalid/ups/1.pdf",
            }
        )
    )
    [label] = fake.labels
    assert (label["is_return"], label["reference"], label["key"]) == (True, "return-7", "opsdesk-a1")
    assert fake.calls[0].body["shipment"]["to_address"] == {"zip": "10001"}


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("transient", RetryLater("carrier ups CARRIER_NOT_AVAILABLE: The carrier is not available")),
        ("500", RetryLater("carrier ups HTTP_500: HTTP 500")),
        ("429:7", RetryLater("carrier ups RATE_LIMITED: Too many requests", 7.0)),
        ("permanent", Rejected("carrier ups PERMANENT_ERROR: The label cannot be purchased")),
        ("code:TRANSIENT_ERROR", RetryLater("carrier ups TRANSIENT_ERROR: error TRANSIENT_ERROR")),
        (
            "code:PURCHASE_LABEL_VALIDATION_ERROR",
            Rejected("carrier ups PURCHASE_LABEL_VALIDATION_ERROR: error PURCHASE_LABEL_VALIDATION_ERROR"),
        ),
    ],
)
def test_carrier_errors_split_into_transient_and_permanent(
    fake: FakeCarrier, labels: CarrierLabels, fault: str, expected: object
) -> None:
    fake.script("ups", fault)

    assert labels.send(action()) == expected
    assert fake.labels == []
    assert isinstance(labels.send(action()), Delivered)  # the fault was one request only


def test_a_refused_address_is_its_own_kind_of_failure(fake: FakeCarrier, labels: CarrierLabels) -> None:
    fake.reject_zip("40003")

    result = labels.send(action(VERIFY_ADDRESS))

    assert result == Rejected("carrier ups ADDRESS.VERIFY.FAILURE: Address not found")
    assert classify(code_of(result.reason)) is Failure.ADDRESS
    assert isinstance(labels.send(action(key="a3")), Rejected)  # as the sender of a return label too


def test_an_outage_hang_and_unknown_carrier(fake: FakeCarrier, labels: CarrierLabels) -> None:
    fake.outage("ups", True)
    assert isinstance(labels.send(action()), RetryLater)
    assert isinstance(labels.send(action(carrier="fedex")), Delivered)  # only ups is down
    fake.outage("ups", False)
    fake.script("ups", "hang:2")
    assert labels.send(action(key="h")) == RetryLater("carrier ups TIMEOUT: ReadTimeout")
    assert labels.send(action(carrier="dhl")) == Rejected(
        "carrier dhl UNKNOWN_CARRIER: no carrier 'dhl' is configured"
    )


def test_in_memory_the_same_connector_reaches_the_stand_in_without_a_server() -> None:
    fake = FakeCarrier()  # not started: no socket, no thread
    carriers = {"ups": (fake.url_for("ups"), None)}
    with CarrierLabels(carriers, return_address={"zip": "10001"}) as over_http:
        in_memory = over_http.with_transport(fake.transport())
        assert isinstance(over_http.send(action(VERIFY_ADDRESS)), RetryLater)  # nothing listens at that URL
        assert in_memory.send(action(VERIFY_ADDRESS)) == Delivered(
            {"carrier": "ups", "address_id": "adr_1", "verified": True}
        )
        in_memory.close()
    [call] = fake.calls
    assert (call.carrier, call.what, call.key, call.status) == ("ups", "addresses", "opsdesk-a1", 200)
    assert not any(t.name == "fake-carrier" for t in threading.enumerate())


def test_the_transport_answers_only_the_stand_ins_own_urls() -> None:
    fake = FakeCarrier()
    elsewhere = {"ups": ("http://127.0.0.1:9/ups", None)}
    with CarrierLabels(elsewhere, return_address={}, transport=fake.transport()) as labels:
        result = labels.send(action(VERIFY_ADDRESS))
    assert isinstance(result, RetryLater)
    assert result.reason.startswith("carrier ups CONNECTION_ERROR: ConnectError")
    assert fake.calls == []
