"""The Shopify connector against the local fake Admin API: each action (its faults: ``test_shopify_faults``).

Every test that takes ``fake`` runs twice: over real sockets, and in memory through the fake's transport
(what the simulator uses, ADR 0018): the two must give the same outcomes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.errors import NotFound, Unavailable
from opsdesk.domain.outbox import Delivered, Rejected
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration._servers import outbox_action, refund_action
from tests.integration.shopify_harness import (
    AUTOMATIC_DISCOUNT,
    CODE_DISCOUNT,
    connect,
    fake,
    mutations,
    shopify,
    strict,
    wire,
)
from tests.samples import SHOP

__all__ = ["fake", "shopify", "strict", "wire"]  # the fixtures: each runs over both wires


# -- refunds -----------------------------------------------------------------------------------------


def test_refund_goes_through_the_gateway_of_the_orders_sale_with_the_idempotency_key(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_order(7, gateway="paypal")
    action = refund_action(7, "25.50")

    result = shopify.send(action)

    assert result == Delivered({"refund_id": "gid://shopify/Refund/1", "order_id": "gid://shopify/Order/7",
                                "amount": "25.50", "currency": "USD"})
    [effect] = fake.effects
    assert (effect.kind, effect.key, effect.shop, effect.order_id, effect.amount) == (
        "refundCreate", action.idempotency_key, SHOP, 7, Decimal("25.50"))
    assert effect.detail["gateway"] == "paypal"
    lookup, refund = fake.calls
    assert (lookup.operation, lookup.key) == ("order", action.idempotency_key)
    assert (refund.operation, refund.key, refund.idempotent_key) == (
        "refundCreate", action.idempotency_key, action.idempotency_key)


def test_a_repeated_refund_gets_the_first_answer_and_has_one_effect(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    action = refund_action(8)

    first, second = shopify.send(action), shopify.send(action)

    assert first == second
    assert isinstance(first, Delivered)
    assert len(fake.effects) == 1
    assert mutations(fake) == ["refundCreate", "refundCreate"]


def test_a_refund_is_made_once_through_the_directive_alone(strict: FakeShopifyAdmin, wire: str) -> None:
    with connect(strict, wire) as connector:
        action = refund_action(9)
        connector.send(action)
        connector.send(action)
        assert [e.key for e in strict.effects] == [action.idempotency_key]


def test_a_refund_with_its_gateway_in_the_payload_needs_no_lookup(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    result = shopify.send(refund_action(10, gateway="manual"))

    assert isinstance(result, Delivered)
    assert [c.operation for c in fake.calls] == ["refundCreate"]
    assert fake.effects[0].detail["gateway"] == "manual"


def test_a_refund_beyond_what_was_paid_is_rejected_with_shopifys_user_error(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_order(11, total="40.00")

    result = shopify.send(refund_action(11, "40.01"))

    assert result == Rejected("refundCreate: transactions.0.amount: "
                              "Refund amount 40.01 is greater than net payment received 40.00")
    assert fake.effects == []


@pytest.mark.parametrize("amount", ["0", "-5", "ten", "NaN"])
def test_a_refund_without_a_positive_amount_is_rejected_before_any_call(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, amount: str) -> None:
    result = shopify.send(refund_action(12, amount))

    assert isinstance(result, Rejected)
    assert "refund amount" in result.reason
    assert fake.calls == []


# -- tags, notes, discounts (holds: test_shopify_holds.py) ---------------------------------------------


def test_tags_and_a_note_reach_the_order(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    tags = shopify.send(outbox_action("add_tags", 30, {"tags": "refund-review, vip,"}, decision="tags"))
    note = shopify.send(outbox_action("note", 30, {"note": "refund held for review"}, decision="note"))

    assert tags == Delivered({"order_id": "gid://shopify/Order/30", "tags": ["refund-review", "vip"]})
    assert note == Delivered({"order_id": "gid://shopify/Order/30", "note": "refund held for review"})
    order = fake.store.order(30)
    assert (order["tags"], order["note"]) == (["refund-review", "vip"], "refund held for review")


@pytest.mark.parametrize(("gid", "mutation"), [(CODE_DISCOUNT, "discountCodeDeactivate"),
                                                (AUTOMATIC_DISCOUNT, "discountAutomaticDeactivate")])
def test_a_discount_is_deactivated_with_the_mutation_for_its_kind(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, gid: str, mutation: str) -> None:
    fake.add_discount(gid)

    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": gid}))

    assert result == Delivered({"discount_id": gid, "active": False})
    assert [e.kind for e in fake.effects] == [mutation]
    assert fake.store.discount(gid)["discount"]["status"] == "EXPIRED"  # type: ignore[index]


def test_deactivating_an_unknown_discount_is_rejected(shopify: ShopifyAdmin) -> None:
    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": CODE_DISCOUNT}))

    assert result == Rejected("discountCodeDeactivate: id: Discount does not exist")


@pytest.mark.parametrize("payload", [{"discount_id": "123"}, {"discount_id": "gid://shopify/Order/1"}, {}])
def test_a_discount_id_that_is_not_a_discount_node_is_rejected_before_any_call(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, payload: dict[str, str]) -> None:
    result = shopify.send(outbox_action("deactivate_discount", None, payload))

    assert isinstance(result, Rejected)
    assert fake.calls == []


def test_discount_terms_give_value_end_combinations_limits_and_reach(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, title="SPRING25", percentage=0.25, ends_at="2026-04-01T00:00:00Z",
                      usage_limit=100, usage_count=7, combines_with=(True, False, False), codes=("SPRING25",))
    fake.add_discount(AUTOMATIC_DISCOUNT, title="5 off", percentage=None, amount=Decimal("5.00"),
                      applies_on_each_item=True, all_items=False)

    code = shopify.discount_terms(SHOP, CODE_DISCOUNT)
    automatic = shopify.discount_terms(SHOP, AUTOMATIC_DISCOUNT)

    assert code == {
        "id": CODE_DISCOUNT, "type": "DiscountCodeBasic", "title": "SPRING25", "status": "ACTIVE",
        "percentage": Decimal("0.25"), "amount": None, "currency": None, "applies_on_each_item": None,
        "applies_to_all_items": True, "ends_at": datetime(2026, 4, 1, tzinfo=UTC), "usage_limit": 100,
        "usage_count": 7, "combines_with": {"order": True, "product": False, "shipping": False},
        "codes": ["SPRING25"]}
    assert automatic == {
        "id": AUTOMATIC_DISCOUNT, "type": "DiscountAutomaticBasic", "title": "5 off", "status": "ACTIVE",
        "percentage": None, "amount": Decimal("5.00"), "currency": "USD", "applies_on_each_item": True,
        "applies_to_all_items": False, "ends_at": None, "usage_limit": None, "usage_count": 0,
        "combines_with": {"order": False, "product": False, "shipping": False}, "codes": []}


def test_discount_terms_raise_not_found_or_unavailable(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    with pytest.raises(NotFound):
        shopify.discount_terms(SHOP, CODE_DISCOUNT)
    fake.script("503")
    with pytest.raises(Unavailable, match="HTTP 503"):
        shopify.discount_terms(SHOP, CODE_DISCOUNT)


def test_a_discount_known_only_by_a_code_is_looked_up_by_it_then_deactivated(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, codes=("SPRING25",))

    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": "", "code": "spring25"}))

    assert result == Delivered({"discount_id": CODE_DISCOUNT, "active": False, "code": "spring25"})
    assert [e.kind for e in fake.effects] == ["discountCodeDeactivate"]
    assert [c.operation for c in fake.calls] == ["codeDiscountNodeByCode", "discountCodeDeactivate"]


def test_a_code_no_discount_has_is_rejected_without_a_mutation(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, codes=("SPRING25",))

    result = shopify.send(outbox_action("deactivate_discount", None, {"code": "WINTER10"}))

    assert result == Rejected(f"no code discount 'WINTER10' in {SHOP}")
    assert fake.effects == [] and [c.operation for c in fake.calls] == ["codeDiscountNodeByCode"]
