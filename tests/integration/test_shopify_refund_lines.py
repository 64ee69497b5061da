"""The desk's refunds name their units (ADR 0041, amended): ``refundCreate`` with ``refundLineItems`` (not
restocked) when the action's payload has its return's lines, checked by the Shopify stand-in as Shopify checks
them, echoed in its refund and in the ``refunds/create`` webhook that follows; an action queued before (no lines)
refunds by amount. Over real sockets and in memory, as every connector test."""

from __future__ import annotations

from decimal import Decimal

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_refund_queries import ORDER_REFUNDS, REFUND_LINES
from opsdesk.domain.events import RefundCreated, RefundLine, ShopDomain
from opsdesk.domain.outbox import Delivered, Rejected
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.normalise.shopify import normalise
from tests.integration._servers import outbox_action, refund_action
from tests.integration.shopify_harness import fake, shopify, wire
from tests.samples import SHOP, sample

__all__ = ["fake", "shopify", "wire"]

SHIRT, CASE = 7_000_000_000_000_000_001, 8_100_000_000_000_000_001  # line items as exact as Shopify's


def refund_of(order_id: int, amount: str, lines: list[list[object]], decision: str) -> OutboxAction:
    """A refund of ``lines`` decided by ``decision`` (its own idempotency key)."""
    payload = {"amount": amount, "currency": "USD", "return_id": None, "note": "opsdesk: return.requested"}
    return outbox_action("refund", order_id, {**payload, "lines": lines}, decision=decision)


def sold(fake: FakeShopifyAdmin, order_id: int) -> None:
    fake.put_line_items(order_id, {SHIRT: (2, Decimal("19.99")), CASE: (1, Decimal("24.99"))})


def test_a_refund_of_a_returns_lines_names_its_units_and_its_webhook_carries_them(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    sold(fake, 31)

    result = shopify.send(refund_action(31, "19.99", lines=[[SHIRT, 1, "19.99"]]))

    assert result == Delivered(
        {
            "refund_id": "gid://shopify/Refund/1",
            "order_id": "gid://shopify/Order/31",
            "amount": "19.99",
            "currency": "USD",
            "lines": [[f"gid://shopify/LineItem/{SHIRT}", 1]],
        }
    )
    [effect] = fake.effects
    assert effect.detail["lines"] == [[SHIRT, 1]]
    [webhook] = fake.refund_webhooks(31)
    [line] = webhook["refund_line_items"]
    assert (line["line_item_id"], line["quantity"], line["restock_type"]) == (SHIRT, 1, "no_restock")
    [event] = normalise("refunds/create", ShopDomain(SHOP), webhook, None)
    assert isinstance(event, RefundCreated)
    assert (event.order, event.amount.amount, event.lines) == (
        31,
        Decimal("19.99"),
        (RefundLine(SHIRT, 1, Decimal("19.99"), Decimal("0.00")),),  # the stand-in charges no tax
    )


def test_shopify_refuses_a_refund_of_more_units_than_are_left_or_of_a_line_the_order_has_not(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    sold(fake, 32)
    assert isinstance(shopify.send(refund_action(32, "39.98", lines=[[SHIRT, 2, "19.99"]])), Delivered)

    again = shopify.send(refund_of(32, "19.99", [[SHIRT, 1, "19.99"]], "second"))
    unknown = shopify.send(refund_of(32, "5.00", [[SHIRT + 5, 1, "5.00"]], "third"))

    assert again == Rejected(
        "refundCreate: refundLineItems.0.quantity: "
        f"Quantity 1 is more than the 0 left to refund of line item {SHIRT}."
    )
    assert unknown == Rejected(
        "refundCreate: refundLineItems.0.lineItemId: Line item does not exist on this order."
    )
    assert len(fake.effects) == 1
    assert len(fake.refund_webhooks(32)) == 1


def test_a_refund_queued_before_its_lines_were_kept_refunds_by_amount(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    sold(fake, 33)

    result = shopify.send(refund_action(33, "19.99"))  # no ``lines``: an action queued before this change

    assert result == Delivered(
        {
            "refund_id": "gid://shopify/Refund/1",
            "order_id": "gid://shopify/Order/33",
            "amount": "19.99",
            "currency": "USD",
        }
    )
    [webhook] = fake.refund_webhooks(33)
    assert webhook["refund_line_items"] == []
    assert "lines" not in fake.effects[0].detail


def test_the_stand_ins_order_and_refund_reads_list_the_refunds_it_made_with_their_lines(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    sold(fake, 34)
    assert isinstance(shopify.send(refund_action(34, "19.99", lines=[[SHIRT, 1, "19.99"]])), Delivered)
    [made] = fake.refund_webhooks(34)

    order = fake.store.execute(SHOP, "order", {"id": "gid://shopify/Order/34"}, "", ORDER_REFUNDS)
    lines = fake.store.execute(SHOP, "refund", {"id": made["admin_graphql_api_id"], "after": None}, "", REFUND_LINES)

    assert order == {"data": {"order": {"refunds": [{
        "id": made["admin_graphql_api_id"], "legacyResourceId": str(made["id"]),
        "createdAt": made["created_at"][:19] + "Z", "note": made["note"],  # the stand-in's clock is UTC
        "return": None}]}}}  # the desk's own refund names no return (ADR 0041; ``Refund.return``, ADR 0061)
    assert lines == {"data": {"refund": {"refundLineItems": {
        "pageInfo": {"hasNextPage": False, "endCursor": "at:1"},
        "nodes": [{"id": f"gid://shopify/RefundLineItem/{made['id'] * 100 + 1}", "quantity": 1,
                   "lineItem": {"id": f"gid://shopify/LineItem/{SHIRT}"},
                   "subtotalSet": {"shopMoney": {"amount": "19.99", "currencyCode": "USD"}},
                   "totalTaxSet": {"shopMoney": {"amount": "0.00"}}}]}}}}


def test_the_sweep_reads_a_refunds_return_duties_and_adjustments_and_says_when_there_are_more_than_it_reads(
    fake: FakeShopifyAdmin, shopify: ShopifyAdmin
) -> None:
    # Shopify's samples: a refund of the order's lines made from return 77, a 5.00 duty and order adjustments
    # (ADR 0061); the shipping one is the stand-in's shipping line, not an adjustment, as GraphQL lists it.
    order, refund = sample("orders/create"), sample("refunds/create")
    money = {"shop_money": {"amount": "5.00", "currency_code": "USD"}}
    off = {"kind": "refund_discrepancy", "amount": "-1.00", "tax_amount": "0.00"}
    refund.update(order_id=order["id"], duties=[{"duty_id": 1, "amount_set": money}], total_duties_set=money,
                  order_adjustments=[{"kind": "shipping_refund", "amount": "-4.99", "tax_amount": "0.00"}, off])
    refund["return"] = {"id": 77, "admin_graphql_api_id": "gid://shopify/Return/77"}
    fake.put_order_payload({**order, "refunds": [refund]})

    node = shopify.order(SHOP, f"gid://shopify/Order/{order['id']}")

    assert isinstance(node, dict) and "incomplete" not in node
    [read] = node["refunds"]
    assert read["return"] == {"id": "gid://shopify/Return/77"}
    assert read["duties"] == [{"amountSet": {"shopMoney": {"amount": "5.00"}}}]
    assert read["orderAdjustments"] == {"nodes": [{"amountSet": {"shopMoney": {"amount": "-1.00"}},
                                                   "taxAmountSet": {"shopMoney": {"amount": "0.00"}}}]}
    assert [line["subtotalAmountSet"]["shopMoney"]["amount"] for line in read["refundShippingLines"]["nodes"]] == [
        "4.99"]

    fake.put_order_payload({**order, "refunds": [{**refund, "order_adjustments": [off] * 11}]})
    node = shopify.order(SHOP, f"gid://shopify/Order/{order['id']}")

    assert isinstance(node, dict)
    assert node["incomplete"] == f"refund {refund['admin_graphql_api_id']} has more than 10 order adjustments: " \
        "not all can be read"
