"""Orders, returns and refunds a person made in Shopify admin, and what the desk decided and refunded on them."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from tests.integration.order_scenarios import MONDAY_9AM, Scenario, order, order_id_of, return_request
from tests.samples import sample

LISTENING = ("disputes", "refunds", "wrong_item")  # the starter playbooks that decide return.requested
SECOND_LINE = 8_100_000_000_000_000_000


def two_line_order(n: int) -> dict[str, Any]:
    """Order ``n`` with a second line (24.99) besides its 19.99 one."""
    payload = order(n, MONDAY_9AM)
    second = copy.deepcopy(payload["line_items"][0])
    second.update(
        id=SECOND_LINE + n,
        admin_graphql_api_id=f"gid://shopify/LineItem/{SECOND_LINE + n}",
        sku="CASE-LEATHER-PREM",
        price="24.99",
    )
    payload["line_items"].append(second)
    return payload


def refund_by_a_person(
    n: int,
    lines: list[tuple[int, str]],
    *,
    refund_id: int = 2_000_000,
    return_id: int | None = None,
    paid: str | None = None,
) -> dict[str, Any]:
    """Shopify's ``refunds/create`` sample: ``lines`` (line item id, subtotal) of order ``n`` refunded in Shopify
    admin, one unit each, the money (their subtotals, else ``paid``) through one refund transaction; made from
    return ``return_id`` when given."""
    payload = sample("refunds/create")
    [line] = payload["refund_line_items"][:1]
    [transaction] = payload["transactions"][:1]
    refunded = [
        {
            **copy.deepcopy(line),
            "id": 1_500_000 + i,
            "line_item_id": item,
            "quantity": 1,
            "subtotal": subtotal,
            "line_item": {  # the order's line: its price the subtotal
                **line["line_item"],
                "id": item,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{item}",
                "price": subtotal,
            },
            "subtotal_set": {
                "shop_money": {"amount": subtotal, "currency_code": "USD"},
                "presentment_money": {"amount": subtotal, "currency_code": "USD"},
            },
        }
        for i, (item, subtotal) in enumerate(lines)
    ]
    total = sum((Decimal(subtotal) for _, subtotal in lines), Decimal(0))
    payload.update(
        id=refund_id + n,
        admin_graphql_api_id=f"gid://shopify/Refund/{refund_id + n}",
        order_id=order_id_of(n),
        created_at=MONDAY_9AM.isoformat(),
        processed_at=MONDAY_9AM.isoformat(),
        refund_line_items=refunded,
        transactions=[{**transaction, "order_id": order_id_of(n), "amount": paid or str(total or "5.00")}],
        **{
            "return": None
            if return_id is None
            else {"id": return_id, "admin_graphql_api_id": f"gid://shopify/Return/{return_id}"}
        },
    )
    return payload


def two_line_request(n: int) -> dict[str, Any]:
    """Order ``n``'s return of both its lines, a changed mind."""
    payload = return_request(n, "UNWANTED")
    [line] = payload["return_line_items"]
    second = {
        **copy.deepcopy(line),
        "id": line["id"] + 1,
        "line_item": {"id": SECOND_LINE + n, "price": "24.99"},
    }
    payload["return_line_items"] = [line, second]
    return payload


def requested(scenario: Scenario, n: int) -> list[tuple[str, str, str, str]]:
    return [d for d in scenario.decisions(order_id_of(n)) if d[0] == "return.requested"]


def refunds_made(scenario: Scenario, n: int) -> list[Decimal | None]:
    return [
        e.amount
        for e in scenario.shopify.effects
        if e.kind == "refundCreate" and e.order_id == order_id_of(n)
    ]


def refund_actions(scenario: Scenario, n: int) -> list[tuple[str, str]]:
    return [(a.status.value, a.last_error) for a in scenario.actions(order_id_of(n)) if a.kind == "refund"]
