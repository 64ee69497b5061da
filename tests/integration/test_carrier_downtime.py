"""Carrier integration downtime: the label API's failure rate over a window passes the threshold -> new labels
go to the fallback carrier and an incident case opens (30 minutes); after the recheck the primary is back.

Driven by Shopify's `orders/paid` and `returns/approve` samples through the real intake path, a real SQLite
file and the local carrier stand-in with the primary carrier down, on a manual clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.fakes.carrier import FakeCarrier
from tests.integration.fulfilment_harness import ORDER_ID, START, Run, audit_actions, make_run, paid_order
from tests.samples import delivery, sample

DOWNTIME = {
    "carrier_downtime": {"window_minutes": 10, "min_attempts": 3, "failure_rate": 0.5, "recheck_minutes": 30},
    "delayed_fulfilment": {"enabled": False},
    "stuck_orders": {"enabled": False},
}


@pytest.fixture
def carrier() -> FakeCarrier:
    with FakeCarrier() as fake:
        yield fake  # type: ignore[misc]


def approve(run: Run, return_id: int) -> None:
    ret = sample("returns/approve")
    ret.update(
        id=return_id,
        admin_graphql_api_id=f"gid://shopify/Return/{return_id}",
        updated_at=run.clock.now().isoformat(),
    )
    run.feed(delivery("returns/approve", ret, f"w-return-{return_id}"))
    run.settle()


def test_a_failing_primary_carrier_is_switched_to_the_fallback_with_an_incident_case_then_switched_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier
) -> None:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, monitors=DOWNTIME, outbox={"max_attempts": 50})
    carrier.outage("ups", True)
    run.feed(delivery("orders/paid", paid_order(), "w-0"), delivery("orders/paid", paid_order(101), "w-1"))
    run.settle()  # two address checks, both 503: under the minimum of 3 attempts
    assert run.cases() == []

    run.feed(delivery("orders/paid", paid_order(102), "w-2"))
    run.settle()  # the third failure in the window: 3 of 3 failed

    [incident] = run.cases()
    assert (incident.kind, incident.queue, incident.priority, incident.owner) == (
        "incident",
        "incidents",
        "urgent",
        "olga",
    )
    assert incident.reason == "3 of 3 label calls failed in 10 minutes; new labels go to fedex"
    assert incident.due_at == START + timedelta(minutes=30)

    approve(run, 1)  # a return approved during the outage: its label goes to the fallback at once
    assert [label["carrier"] for label in carrier.labels] == ["fedex"]

    carrier.outage("ups", False)
    run.advance(minutes=30)  # the recheck: the primary gets traffic again
    assert "carrier.switched_back" in audit_actions(run)
    approve(run, 2)

    assert [label["carrier"] for label in carrier.labels] == ["fedex", "ups"]
    assert [c.id for c in run.cases()] == [incident.id]  # one incident for the outage


def test_occasional_failures_below_the_rate_do_not_switch_carriers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier
) -> None:
    run = make_run(tmp_path, monkeypatch, carrier=carrier, monitors=DOWNTIME)
    carrier.script("ups", "503")
    for n, order_id in enumerate((ORDER_ID, 201, 202, 203)):
        run.feed(delivery("orders/paid", paid_order(order_id), f"w-{n}"))
        run.settle()
    run.advance(seconds=10)  # the one retry succeeds: 1 failure in 5 attempts

    approve(run, 3)

    assert run.cases() == []
    assert [label["carrier"] for label in carrier.labels] == ["ups"]
