"""Fulfilment holds against the local Shopify Admin stand-in: each placed under a handle that says why, and a
release that names the ids of the desk's holds it means (``holdIds``), so that an order held for its address
and for fraud stays held for fraud when its address hold goes, and a hold placed by hand always stays.

Every test runs twice, over real sockets and in memory (the fixtures of test_shopify_connector.py).
"""

from __future__ import annotations

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_holds import UNNAMED_RELEASE
from opsdesk.domain.outbox import Delivered, Rejected
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration import test_shopify_connector as connector_tests
from tests.integration._servers import outbox_action
from tests.samples import SHOP

# The connector tests' fixtures: each test on both wires, against a fake with the header idempotency or not.
connect, wire, fake = connector_tests.connect, connector_tests.wire, connector_tests.fake
strict, shopify = connector_tests.strict, connector_tests.shopify


def fulfillment_order(order_id: int, n: int = 1) -> str:
    return f"gid://shopify/FulfillmentOrder/{order_id}{n}"


def hold(order_id: int, reason: str, decision: str) -> OutboxAction:
    return outbox_action("hold_fulfillment", order_id, {"reason": reason}, decision=decision)


def release(order_id: int, *holds: str, decision: str = "release") -> OutboxAction:
    return outbox_action("release_hold", order_id, {"holds": list(holds)}, decision=decision)


def held(fake: FakeShopifyAdmin, order_id: int) -> tuple[str, list[tuple[str, str, bool]]]:
    """The status of the order's first fulfilment order and its holds: (handle, reason, placed by the desk)."""
    node = fake.store.order(order_id)["fulfillmentOrders"]["nodes"][0]
    return node["status"], [(h["handle"], h["reason"], h["heldByRequestingApp"]) for h in node["fulfillmentHolds"]]


def hold_ids(fake: FakeShopifyAdmin, order_id: int) -> dict[str, str]:
    """The ids of the order's first fulfilment order's holds, by handle (or reason, for one without a handle)."""
    node = fake.store.order(order_id)["fulfillmentOrders"]["nodes"][0]
    return {h["handle"] or h["reason"]: h["id"] for h in node["fulfillmentHolds"]}


def test_a_hold_goes_under_a_handle_that_says_why_on_every_holdable_fulfillment_order_and_a_retry_adds_none(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_order(20, fulfillment_orders=("OPEN", "OPEN", "CLOSED"))
    action = hold(20, "high_risk_of_fraud", "risk")

    first, again = shopify.send(action), shopify.send(action)

    targets = [fulfillment_order(20, 1), fulfillment_order(20, 2)]
    ids = [h["fulfillmentHolds"][0]["id"] for h in fake.store.order(20)["fulfillmentOrders"]["nodes"][:2]]
    assert first == Delivered({"held": targets, "handle": "opsdesk-risk", "hold_ids": ids})
    assert again == Delivered({"held": [], "handle": "opsdesk-risk", "hold_ids": []})
    assert [(e.target, e.detail) for e in fake.effects] == [
        (fo, {"reason": "HIGH_RISK_OF_FRAUD", "handle": "opsdesk-risk"}) for fo in targets]
    nodes = fake.store.order(20)["fulfillmentOrders"]["nodes"]
    assert [n["status"] for n in nodes] == ["ON_HOLD", "ON_HOLD", "CLOSED"]


def test_a_hold_shopify_already_has_under_our_handle_counts_as_placed(strict: FakeShopifyAdmin, wire: str) -> None:
    # Shopify itself ignores the Idempotency-Key header; the hold's handle is what makes a repeat harmless.
    with connect(strict, wire) as connector:
        strict.add_order(21)
        action = outbox_action("hold_fulfillment", 21, {"reason": "OTHER", "fulfillment_order_id": 211})
        first, again = connector.send(action), connector.send(action)

        assert first == Delivered({"held": [fulfillment_order(21)], "handle": "opsdesk-other",
                                   "hold_ids": [hold_ids(strict, 21)["opsdesk-other"]]})
        assert again == Delivered({"held": [], "handle": "opsdesk-other", "hold_ids": []})
        assert len(strict.effects) == 1


def test_a_second_reason_adds_a_second_hold_and_one_already_held_for_the_same_reason_adds_none(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    shopify.send(hold(22, "HIGH_RISK_OF_FRAUD", "risk"))
    shopify.send(hold(22, "INCORRECT_ADDRESS", "address"))
    shopify.send(hold(22, "HIGH_RISK_OF_FRAUD", "risk-again"))  # another assessment, the order held already

    assert held(fake, 22) == ("ON_HOLD", [("opsdesk-risk", "HIGH_RISK_OF_FRAUD", True),
                                          ("opsdesk-address", "INCORRECT_ADDRESS", True)])


def test_an_address_release_takes_the_address_hold_only_not_the_fraud_hold_nor_one_placed_by_hand(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    shopify.send(hold(23, "HIGH_RISK_OF_FRAUD", "risk"))
    shopify.send(hold(23, "INCORRECT_ADDRESS", "address"))
    fake.hold_by_hand(23, "OTHER")  # a person in Shopify's admin
    fake.hold_by_hand(23, "INCORRECT_ADDRESS", handle="opsdesk-address")  # another app, with a handle like ours
    ids = hold_ids(fake, 23)
    [ours] = [h for h in fake.store.order(23)["fulfillmentOrders"]["nodes"][0]["fulfillmentHolds"]
              if h["handle"] == "opsdesk-address" and h["heldByRequestingApp"]]

    first, again = shopify.send(release(23, "address")), shopify.send(release(23, "address"))

    assert first == Delivered({"released": [fulfillment_order(23)], "hold_ids": [ours["id"]], "holds": ["address"]})
    assert again == Delivered({"released": [], "hold_ids": [], "holds": ["address"]})
    assert held(fake, 23) == ("ON_HOLD", [("opsdesk-risk", "HIGH_RISK_OF_FRAUD", True), ("", "OTHER", False),
                                          ("opsdesk-address", "INCORRECT_ADDRESS", False)])
    [effect] = [e for e in fake.effects if e.kind == "fulfillmentOrderReleaseHold"]
    assert effect.detail == {"released": [ours["id"]], "handles": ["opsdesk-address"]}

    fraud = shopify.send(release(23, "risk", decision="review"))  # the risk case, resolved
    assert fraud == Delivered({"released": [fulfillment_order(23)], "hold_ids": [ids["opsdesk-risk"]],
                               "holds": ["risk"]})
    assert held(fake, 23) == ("ON_HOLD", [("", "OTHER", False), ("opsdesk-address", "INCORRECT_ADDRESS", False)])


def test_the_last_hold_released_opens_the_fulfillment_order(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    shopify.send(hold(24, "INVENTORY_OUT_OF_STOCK", "stock"))
    shopify.send(hold(24, "INCORRECT_ADDRESS", "address"))

    shopify.send(release(24, "inventory"))
    assert held(fake, 24) == ("ON_HOLD", [("opsdesk-address", "INCORRECT_ADDRESS", True)])
    shopify.send(release(24, "address", "inventory", decision="both"))  # a fulfilment case's release
    assert held(fake, 24) == ("OPEN", [])


def test_a_hold_placed_before_handles_were_named_is_released_by_its_reason_and_never_placed_twice(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    # Until now the desk's handle was the hold action's idempotency key, whatever the reason.
    address, fraud = hold(25, "INCORRECT_ADDRESS", "address"), hold(25, "HIGH_RISK_OF_FRAUD", "risk")
    fake.add_order(25)
    for old in (address, fraud):
        placed = {"reason": old.payload["reason"], "handle": old.idempotency_key}
        fake.store.execute(SHOP, "fulfillmentOrderHold", {"id": fulfillment_order(25), "fulfillmentHold": placed}, "")
    ids = hold_ids(fake, 25)

    assert shopify.send(address) == Delivered({"held": [], "handle": "opsdesk-address", "hold_ids": []})  # a retry
    assert shopify.send(release(25, "address")) == Delivered({
        "released": [fulfillment_order(25)], "hold_ids": [ids[address.idempotency_key]], "holds": ["address"]})
    assert held(fake, 25) == ("ON_HOLD", [(fraud.idempotency_key, "HIGH_RISK_OF_FRAUD", True)])


def test_a_release_queued_before_releases_named_their_holds_releases_nothing_and_says_so(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    shopify.send(hold(26, "HIGH_RISK_OF_FRAUD", "risk"))
    before = len(fake.calls)

    old = shopify.send(outbox_action("release_hold", 26, {"reason": "other"}, decision="old-release"))
    unknown = shopify.send(release(26, "everything", decision="bad"))

    assert old == Rejected(UNNAMED_RELEASE)
    assert unknown == Rejected("release_hold names holds opsdesk does not place: ['everything']")
    assert (len(fake.calls), held(fake, 26)) == (before, ("ON_HOLD", [("opsdesk-risk", "HIGH_RISK_OF_FRAUD", True)]))
