"""An order cancelled with a refund in Shopify admin while the desk's automatic refund of its return waits in the
outbox: Shopify's ``orders/cancelled`` carries the refund (its ``refunds``) and its ``refunds/create`` comes too, in
either order (webhooks are not ordered). The refund counts once in the order's ledger, by its id, whichever comes
first, and the desk's refund is not sent: its case names the cancel's refund (ADR 0041, amended in session 15). A
cancel with no refund changes nothing. Through the real pipeline, the outbox and the Shopify stand-in over HTTP, on a
SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.domain.orders import OrderState
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    line_id_of,
    order,
    order_id_of,
    return_request,
    sql_scenario,
)
from tests.integration.refunded_return_harness import refund_actions, refund_by_a_person, refunds_made
from tests.samples import SHOP

__all__ = ["sql_scenario"]

CANCELLED_AT = MONDAY_9AM + timedelta(minutes=5)
REFUND = 2_000_001  # refund_by_a_person's id for order 1


def cancel_refund() -> dict[str, Any]:
    """The refund Shopify makes when a person cancels order 1 with a refund: its 19.99 line, not restocked here, the
    money through one refund transaction (the shape of ``refunds/create``, which the order's ``refunds`` lists)."""
    refund = refund_by_a_person(1, [(line_id_of(1), "19.99")])
    refund.update(created_at=CANCELLED_AT.isoformat(), processed_at=CANCELLED_AT.isoformat())
    for line in refund["refund_line_items"]:
        line["restock_type"] = "cancel"
    return refund


def cancelled(refunds: list[dict[str, Any]]) -> dict[str, Any]:
    """Shopify's ``orders/cancelled`` for order 1, cancelled by the customer's wish, with ``refunds``."""
    payload = order(1, MONDAY_9AM)
    payload.update(
        cancelled_at=CANCELLED_AT.isoformat(),
        updated_at=CANCELLED_AT.isoformat(),
        cancel_reason="customer",
        financial_status="refunded" if refunds else "paid",
        refunds=refunds,
    )
    return payload


def ledger(scenario: Scenario) -> tuple[Any, ...]:
    """The order's refund ledger: each refund's money and time, what each was for, and the money refunded."""
    with scenario.desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(SHOP, order_id_of(1))
    assert isinstance(state, OrderState)
    return state.refunds, state.refunded_for, state.refunded


NOT_SENT = ("not sent: the items of return 4000001 were refunded in Shopify after this refund was decided "
            "(refund 2000001")


@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-first", "refund-first"])
def test_a_refund_decided_before_the_order_was_cancelled_with_a_refund_is_not_sent(
    sql_scenario: Scenario, cancel_first: bool
) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))  # decided: a refund of 19.99 in the outbox
    deliveries = [("orders/cancelled", cancelled([cancel_refund()])), ("refunds/create", cancel_refund())]
    first, then = deliveries if cancel_first else deliveries[::-1]
    scenario.deliver(*first)  # before the outbox ran
    scenario.work()

    assert refunds_made(scenario, 1) == []
    # what the desk knows at the send: the cancel, with its refund, or the refund's own webhook alone
    why = NOT_SENT + ("; the order was cancelled in Shopify)" if cancel_first else ")")
    assert refund_actions(scenario, 1) == [("failed", why)]
    assert scenario.mail_to("c1@example.com") == []  # its confirmation fails with it (ADR 0042)
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))
    assert why.removeprefix("not sent: ") in case.reason
    refunds, refunded_for, refunded = counted = ledger(scenario)  # the same whichever came first
    assert list(refunds) == [REFUND]
    assert (refunds[REFUND].at, refunds[REFUND].amount) == (CANCELLED_AT, Decimal("19.99"))
    assert refunded_for[REFUND].lines == ((line_id_of(1), 1),)
    assert refunded == Decimal("19.99")

    scenario.deliver(*then)  # the other webhook of the same refund
    scenario.deliver(*first)  # and Shopify's retry of the first
    scenario.work()

    assert ledger(scenario) == counted  # counted once
    assert refunds_made(scenario, 1) == []
    assert len(scenario.cases(queue="automation")) == 1


def test_a_cancel_with_no_refund_changes_nothing_the_refund_decided_goes_out(sql_scenario: Scenario) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    scenario.deliver("orders/cancelled", cancelled([]))
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
    assert scenario.cases(queue="automation") == []
    assert ledger(scenario) == ({}, {}, Decimal(0))  # the stand-in's refund's webhook not delivered here
