"""A return refunded in Shopify admin (by a person, or another app) but left open is never refunded again by the
desk, whatever order the webhooks come in; what of a return is not refunded yet still is (ADR 0041).
Shopify's samples, the starter playbooks, a virtual clock, the Shopify and SMTP stand-ins.
The last look before the send is in ``test_refund_last_look``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    line_id_of,
    order,
    return_request,
    scenario,
    sql_scenario,
)
from tests.integration.refunded_return_harness import (
    LISTENING,
    SECOND_LINE,
    refund_actions,
    refund_by_a_person,
    refunds_made,
    requested,
    two_line_order,
    two_line_request,
)

__all__ = ["scenario", "sql_scenario"]


def test_a_return_whose_items_were_refunded_by_a_person_before_the_request_came_is_not_refunded_again(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario  # on SQLite and PostgreSQL
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(minutes=30)
    # the request's webhook was late (the desk was down): a person refunded the item in Shopify admin meanwhile,
    # not from the return, which stays open
    scenario.deliver("refunds/create", refund_by_a_person(1, [(line_id_of(1), "19.99")]))
    scenario.later(minutes=30)
    scenario.deliver(
        "returns/request", return_request(1, "UNWANTED"), triggered_at=MONDAY_9AM + timedelta(minutes=5)
    )
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert scenario.mail_to("c1@example.com") == []
    assert scenario.cases() == []
    assert requested(scenario, 1) == [("return.requested", p, "superseded", "ignore") for p in LISTENING]


@pytest.mark.parametrize("refund_first", [True, False])
def test_a_return_refunded_from_its_own_page_is_not_refunded_again_by_the_desk(
    scenario: Scenario, refund_first: bool
) -> None:
    # The refund names the return (made from the return's page in Shopify admin) and moves no line: the return is
    # refunded whatever the lines say. When the request comes first it is decided as news (nothing was refunded).
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    refund = refund_by_a_person(1, [], return_id=4_000_001)
    deliveries = [("refunds/create", refund), ("returns/request", return_request(1, "UNWANTED"))]
    for topic, payload in deliveries if refund_first else deliveries[::-1]:
        scenario.later(minutes=10)
        scenario.deliver(topic, payload)
    scenario.work()

    if refund_first:
        assert refunds_made(scenario, 1) == []
        assert requested(scenario, 1) == [("return.requested", p, "superseded", "ignore") for p in LISTENING]
    else:
        assert refunds_made(scenario, 1) == [Decimal("19.99")]


def test_when_one_of_two_returned_items_was_refunded_by_a_person_the_desk_refunds_the_other(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", two_line_order(1))
    scenario.deliver("refunds/create", refund_by_a_person(1, [(SECOND_LINE + 1, "24.99")]))
    scenario.later(minutes=30)
    scenario.deliver("returns/request", two_line_request(1))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]  # the 24.99 line was refunded already
    [mail] = scenario.mail_to("c1@example.com")
    assert "We have refunded 19.99 USD" in mail.body
    assert ("return.requested", "refunds", "auto-refund-simple-purchase-error", "automate") in requested(
        scenario, 1
    )


def test_a_return_of_the_item_not_refunded_is_refunded_in_full(scenario: Scenario) -> None:
    scenario.deliver("orders/create", two_line_order(1))
    scenario.deliver("refunds/create", refund_by_a_person(1, [(SECOND_LINE + 1, "24.99")]))
    scenario.later(minutes=30)
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # the 19.99 line only
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]


# -- a line refunded for part of its price, and an amount not known: a person decides, told why -------------------


@pytest.mark.parametrize("refund_first", [True, False])
def test_a_return_whose_item_a_person_refunded_for_part_of_its_price_goes_to_a_person_with_the_reason(
    sql_scenario: Scenario, refund_first: bool
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.later(minutes=30)
    # a person refunded the item in Shopify admin with 5.00 of its 19.99 (the return stays open); the request's
    # webhook came late, before or after the refund's
    deliveries = [
        ("refunds/create", refund_by_a_person(1, [(line_id_of(1), "19.99")], paid="5.00")),
        ("returns/request", return_request(1, "UNWANTED")),
    ]
    for topic, payload in deliveries if refund_first else deliveries[::-1]:
        scenario.deliver(topic, payload, triggered_at=MONDAY_9AM + timedelta(minutes=5))
    scenario.work()

    if not refund_first:  # decided before the refund was heard of: the last look keeps it from going out
        assert refund_actions(scenario, 1) == [
            (
                "failed",
                "not sent: what is left of return 4000001 to refund is not known since it was decided: units of "
                f"line item {line_id_of(1)} were refunded for less than they were worth (refund 2000001 gave 5.00 "
                "for lines worth 19.99): what is left to refund is for a person to decide",
            )
        ]
        return
    assert refunds_made(scenario, 1) == []
    assert scenario.mail_to("c1@example.com") == []
    assert ("return.requested", "refunds", "refund-request-needs-a-person", "escalate") in requested(scenario, 1)
    [case] = scenario.cases(queue="refunds")
    assert case.reason == (
        "rule refund-request-needs-a-person escalates: always; the amount to refund is not known: units of line "
        f"item {line_id_of(1)} were refunded for less than they were worth (refund 2000001 gave 5.00 for lines "
        "worth 19.99): what is left to refund is for a person to decide"
    )


def test_a_request_whose_amount_is_not_known_opens_a_case_that_says_why(sql_scenario: Scenario) -> None:
    scenario = sql_scenario
    # the order's webhook not heard of yet: a person refunded its line, then the return was asked for
    scenario.deliver("refunds/create", refund_by_a_person(1, [(line_id_of(1), "19.99")]))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    scenario.later(minutes=15)  # the request waits for its order ten minutes at most, then is decided without

    assert refunds_made(scenario, 1) == []
    [case] = scenario.cases(queue="refunds")
    assert case.reason == (
        "rule refund-request-needs-a-person escalates: always; the amount to refund is not known: line item "
        f"{line_id_of(1)} was refunded but the order does not list it (the order not heard of yet)"
    )
