"""The pipeline on the in-memory database: decisions, guardrails, waiting, holding, failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsdesk.domain.outbox import ActionStatus
from opsdesk.testing import InMemoryDatabase, ManualClock
from tests.pipeline_harness import drain, feed
from tests.samples import delivery, order_lifecycle


@pytest.fixture
def db() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_a_simple_purchase_error_inside_the_caps_is_refunded_and_the_customer_told(db, clock) -> None:
    feed(db, order_lifecycle(1)[:6], clock)
    report = drain(db, clock)
    assert (report.automated, report.escalated, report.actions, report.cases) == (1, 0, 2, 0)
    actions = sorted(db.tables.actions.values(), key=lambda a: a.kind)
    assert [(a.kind, a.provider, a.status) for a in actions] == [
        ("email", "smtp", ActionStatus.PENDING),
        ("refund", "shopify", ActionStatus.PENDING),
    ]
    refund = actions[1].payload
    assert (refund["amount"], refund["currency"], refund["order_id"]) == (
        "19.99",
        "USD",
        5_000_000_000_000_000_001,
    )
    assert actions[0].payload["to"] == "c1@example.com"


def test_a_refund_over_the_per_action_cap_becomes_a_case_in_the_refunds_queue(db, clock) -> None:
    feed(db, order_lifecycle(1, price="80.00")[:6], clock)
    report = drain(db, clock)
    assert (report.automated, report.escalated, report.actions) == (0, 1, 0)
    [case] = db.tables.cases.values()
    assert (case.queue, case.kind, case.order_id) == ("refunds", "refund", 5_000_000_000_000_000_001)
    assert "escalates" in case.reason


def test_a_damaged_item_is_never_refunded_automatically(db, clock) -> None:
    feed(db, order_lifecycle(1, reason="DEFECTIVE")[:6], clock)
    report = drain(db, clock)
    assert (report.automated, report.escalated) == (0, 1)


def test_the_per_customer_cap_escalates_the_third_refund_in_a_period(db, clock) -> None:
    deliveries = order_lifecycle(1)[:6]
    for n in (2, 3):  # two more returns by the same customer, on other orders
        more = order_lifecycle(n)[:6]
        deliveries += more
    for d in deliveries:  # same customer everywhere
        d["body"] = d["body"].replace('"id":9000002', '"id":9000001').replace('"id":9000003', '"id":9000001')
    feed(db, [_resign(d) for d in deliveries], clock)
    report = drain(db, clock)
    assert (report.automated, report.escalated) == (2, 1)
    [case] = db.tables.cases.values()
    assert case.reason.startswith("guardrail: count 3 would exceed 2 (customer per 30 days")


def test_a_return_that_arrives_before_its_order_waits_for_it(db, clock) -> None:
    life = order_lifecycle(1)
    feed(db, [life[5]], clock)
    first = drain(db, clock)
    assert (first.waiting, first.decisions) == (1, 0)
    feed(db, [life[0]], clock)
    drain(db, clock)
    assert sorted(a.kind for a in db.tables.actions.values()) == ["email", "refund"]


def test_a_return_whose_order_never_comes_is_decided_after_the_wait_with_what_is_known(db, clock) -> None:
    feed(db, [order_lifecycle(1)[5]], clock)
    drain(db, clock)
    clock.advance(minutes=11)
    report = drain(db, clock)
    # The return carries its own prices, but the order (and so the customer) is unknown: a person looks.
    # (The disputes and wrong_item playbooks listen to returns too, and ignore this one.)
    assert (report.decisions, report.escalated, report.automated) == (3, 1, 0)
    assert db.tables.actions == {} or all(
        a.kind != "email" or a.payload["to"] == "" for a in db.tables.actions.values()
    )


def test_deliveries_from_an_unknown_shop_are_kept_and_held_not_processed(db, clock) -> None:
    stored = feed(db, order_lifecycle(1)[:1], clock, known=())
    assert stored.stored == 1
    report = drain(db, clock)
    assert (report.held, report.decisions) == (1, 0)
    assert db.unit_of_work().__enter__().deliveries.count("held") == 1


def test_an_unreadable_payload_is_marked_failed_with_the_reason_and_the_rest_go_on(db, clock) -> None:
    bad = delivery("orders/create", {"no": "id"}, "bad-1")
    feed(db, [bad, *order_lifecycle(1)[:1]], clock)
    report = drain(db, clock)
    assert (report.failed, report.events) == (1, 1)
    [(_status, error)] = [v for v in db.tables.delivery_status.values() if v[0] == "failed"]
    assert error.startswith("orders/create: field ") and "missing" in error


def test_unknown_topics_are_stored_and_ignored(db, clock) -> None:
    feed(db, [delivery("brand_new/topic", {"id": 1}, "x-1")], clock)
    report = drain(db, clock)
    assert (report.ignored, report.failed, report.decisions) == (1, 0, 0)


def test_every_event_gets_a_decision_record_even_when_no_playbook_listens(db, clock) -> None:
    feed(db, order_lifecycle(1), clock)
    report = drain(db, clock)
    assert report.events == 7
    assert report.decisions == 9  # the return is also looked at by the disputes and wrong_item playbooks
    outcomes = sorted((d.event_name, d.outcome) for d in db.tables.decisions.values())
    assert ("return.requested", "automate") in outcomes
    assert sum(1 for _, o in outcomes if o == "ignore") == 8


def _resign(d: dict) -> dict:
    from opsdesk.testing import sign
    from tests.samples import SECRET

    d["headers"]["X-Shopify-Hmac-Sha256"] = sign(d["body"].encode(), SECRET)
    return d


def test_the_wait_limit_is_measured_from_when_the_delivery_was_received(db, clock) -> None:
    feed(db, [order_lifecycle(1)[5]], clock)
    clock.advance(minutes=9)
    assert drain(db, clock).waiting == 1
    clock.advance(minutes=2)
    assert drain(db, clock).decisions == 3  # refunds, disputes and wrong_item each decide the return
    assert timedelta(minutes=10)
