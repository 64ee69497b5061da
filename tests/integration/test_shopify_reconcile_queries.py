"""The reconciliation sweep's disputes and orders queries against the local fake Admin API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.events import RefundCreated, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.outbox import CredentialsRefused, Rejected, RetryLater
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.normalise.shopify import normalise
from opsdesk.services.reconcile import dispute_payload, webhook_payload
from tests.integration.shopify_harness import connect, fake, shopify, wire
from tests.samples import SHOP, sample

__all__ = ["fake", "shopify", "wire"]  # the fixtures: each runs over both wires


# -- the reconciliation sweep's disputes query -----------------------------------------------------------

DISPUTES_SINCE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def read_pages(fetch: Callable[[str | None], object]) -> list[list[dict[str, Any]]]:
    """The nodes of every page of one query, following ``pageInfo.endCursor`` as the sweep does."""
    pages, cursor = [], None
    while True:
        page = fetch(cursor)
        assert isinstance(page, dict)
        pages.append(page["nodes"])
        cursor = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return pages


def dispute(n: int, initiated: datetime, **changes: Any) -> dict[str, Any]:
    """Shopify's ``disputes/create`` sample as dispute ``n`` on order ``n``, initiated at ``initiated``."""
    payload = sample("disputes/create")
    payload.update(id=2_850_000 + n, order_id=4_000_000 + n, initiated_at=initiated.isoformat(),
                   evidence_due_by=(initiated + timedelta(days=7)).isoformat(), **changes)
    return payload


def test_disputes_initiated_since_a_time_come_page_by_page_and_read_back_as_the_webhook(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    held = [dispute(n, DISPUTES_SINCE + timedelta(minutes=n - 2)) for n in range(7)]  # 0 and 1 are older
    held[5].update(status="won", evidence_sent_on="2026-03-03T10:00:00-05:00", finalized_on="2026-03-20T00:00:00Z")
    for payload in held:
        fake.put_dispute_payload(payload)

    pages = read_pages(lambda cursor: shopify.disputes_initiated(SHOP, DISPUTES_SINCE, cursor, 2))

    assert [len(p) for p in pages] == [2, 2, 1]  # 2..6: initiated at or after the time, none twice
    nodes = [node for p in pages for node in p]
    assert [n["legacyResourceId"] for n in nodes] == [str(2_850_000 + n) for n in range(2, 7)]
    assert nodes[0]["status"] == "UNDER_REVIEW" and nodes[0]["reasonDetails"]["reason"] == "FRAUDULENT"
    assert [c.operation for c in fake.calls] == ["shopifyPaymentsAccount"] * 3
    # Turned back into the webhook's body, each is the event Shopify's own webhook would have made.
    for node, payload in zip(nodes, held[2:], strict=True):
        ours = normalise("disputes/create", ShopDomain(SHOP), dispute_payload(node), None)
        theirs = normalise("disputes/create", ShopDomain(SHOP), payload, None)
        assert isinstance(ours, tuple) and isinstance(theirs, tuple)
        assert [e.key for e in ours] == [e.key for e in theirs]
        assert ours == theirs


def test_a_shop_without_shopify_payments_has_no_disputes(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.put_dispute_payload(dispute(1, DISPUTES_SINCE))
    fake.store.payments_account = False

    assert shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10) == {
        "nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


@pytest.mark.parametrize(("fault", "expected"), [
    ("503", RetryLater("HTTP 503")),
    ("429:7", RetryLater("HTTP 429", 7.0)),
    ("throttled", RetryLater("throttled: Throttled", 0.1)),
    ("403", CredentialsRefused('HTTP 403: {"errors": "HTTP 403"}')),
])
def test_the_disputes_query_maps_each_failure_to_retry_later_or_rejected(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, fault: str, expected: RetryLater | Rejected) -> None:
    fake.put_dispute_payload(dispute(1, DISPUTES_SINCE))
    fake.script(fault)

    assert shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10) == expected
    page = shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)  # the retry reads the page
    assert isinstance(page, dict) and len(page["nodes"]) == 1


def test_the_disputes_query_with_a_wrong_token_or_a_lost_connection_fails_as_the_other_queries(
        fake: FakeShopifyAdmin, wire: str) -> None:
    with connect(fake, wire, token="shpat_wrong") as wrong:
        refused = wrong.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)
    assert isinstance(refused, Rejected) and "401" in refused.reason
    fake.script("reset")
    with connect(fake, wire) as shopify:
        lost = shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)
    assert isinstance(lost, RetryLater)


# -- the reconciliation sweep's orders query: each order's refunds ----------------------------------------


def refunded_order(n: int, updated: datetime, *refunds: dict[str, Any]) -> dict[str, Any]:
    """Shopify's ``orders/create`` sample as order ``n``, last changed at ``updated``, with these refunds."""
    order = sample("orders/create")
    order.update(id=4_100_000 + n, updated_at=updated.isoformat(), financial_status="partially_refunded",
                 refunds=[{**r, "order_id": 4_100_000 + n} for r in refunds])
    return order


def refund(n: int, **changes: Any) -> dict[str, Any]:
    """Shopify's ``refunds/create`` sample as refund ``n`` (75.00 and 10.00 refunded through two transactions)."""
    payload = sample("refunds/create")
    payload.update(id=8_900_000 + n, **changes)
    return payload


def test_orders_updated_carry_each_orders_refunds_which_read_back_as_the_refunds_create_webhook(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    no_money_moved = refund(3, transactions=[{**t, "status": "failure"} for t in refund(0)["transactions"]])
    held = [refunded_order(0, DISPUTES_SINCE - timedelta(minutes=1), refund(0)),  # changed before the time
            refunded_order(1, DISPUTES_SINCE, refund(1), refund(2, note=None)),
            refunded_order(2, DISPUTES_SINCE + timedelta(minutes=1)),
            refunded_order(3, DISPUTES_SINCE + timedelta(minutes=2), no_money_moved)]
    for payload in held:
        fake.put_order_payload(payload)

    pages = read_pages(lambda cursor: shopify.orders_updated(SHOP, DISPUTES_SINCE, cursor, 2))

    assert [[n["legacyResourceId"] for n in p] for p in pages] == [["4100001", "4100002"], ["4100003"]]
    listed = [node for p in pages for node in p]
    assert [[r["legacyResourceId"] for r in n["refunds"]] for n in listed] == [["8900001", "8900002"], [], ["8900003"]]
    nodes = [shopify.order(SHOP, n["id"]) for n in listed]  # the listing carries ids; the order, the money
    assert [[r["legacyResourceId"] for r in n["refunds"]] for n in nodes] == [["8900001", "8900002"], [], ["8900003"]]
    first = nodes[0]["refunds"][0]
    assert (first["createdAt"], first["note"]) == ("2022-01-01T00:00:00Z", "Things were damaged")
    assert [(t["kind"], t["status"], t["amountSet"]["shopMoney"]) for t in first["transactions"]["nodes"]] == [
        ("REFUND", "SUCCESS", {"amount": "75.00", "currencyCode": "USD"}),
        ("REFUND", "SUCCESS", {"amount": "10.00", "currencyCode": "USD"})]
    # each refund of lines has its shipping lines read apart (ADR 0055)
    assert [c.operation for c in fake.calls] == ["orders"] * 2 + ["order", "refund", "refund", "order", "order",
                                                                   "refund"]
    # Turned back into the webhook's body, each refund is the event Shopify's own refunds/create makes of it.
    ours = [normalise("refunds/create", ShopDomain(SHOP), r, None)
            for node in nodes for r in webhook_payload(node)["refunds"]]
    theirs = [normalise("refunds/create", ShopDomain(SHOP), r, None) for o in held[1:] for r in o["refunds"]]
    assert ours == theirs
    amounts = [(e.refund_id, e.order, e.amount) for found in ours for e in found if isinstance(e, RefundCreated)]
    assert amounts == [(8_900_001, 4_100_001, Money(Decimal("85.00"), "USD")),
                       (8_900_002, 4_100_001, Money(Decimal("85.00"), "USD")),
                       (8_900_003, 4_100_003, Money(Decimal("414.95"), "USD"))]  # no money moved: the lines
