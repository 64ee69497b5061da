"""An order whose prices include their tax (``taxes_included``, ADR 0051): a line's price, and a refund line's
subtotal, have the tax in them already, so a returned unit is worth its price less its discounts, not that and its
tax again, and a refund of that much pays it in full, whichever of the order and the refund the desk heard of first.
Orders read from Shopify's ``orders/create`` sample through the normaliser; an order state stored before the desk
kept the flag decodes tax-exclusive."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import RefundCreated, RefundLine
from opsdesk.domain.money import Money
from opsdesk.domain.orders import superseded
from opsdesk.domain.refunds import RefundFor
from opsdesk.normalise import normalise
from opsdesk.storage.codec import decode_order, encode_order
from tests.unit.test_return_worth import AT, LINE, ORDER, SHOP, amount, bought, fold, placed, request


def vat_inside(included: bool = True) -> dict[str, Any]:
    """One unit at 25.00, 20 % off (5.00 allocated), 8 % VAT: 1.48 inside the 20.00 paid when ``included``."""
    payload = bought(1, "25.00", allocations=("5.00",), taxes=("1.48",))
    payload["taxes_included"] = included
    return payload


def refunded_in_full(refund_id: int = 2_000_001) -> RefundCreated:
    """Shopify's refund of the unit in a taxes-included shop: its subtotal 20.00 holds its 1.48 of tax."""
    line = RefundLine(LINE, 1, Decimal("20.00"), Decimal("1.48"))
    return RefundCreated(SHOP, AT, refund_id, ORDER, Money(Decimal("20.00"), "USD"), "", None, (line,))


def test_a_unit_whose_price_includes_its_tax_is_worth_its_price_less_its_discounts() -> None:
    event = placed(vat_inside())

    assert event.order.taxes_included
    assert [li.paid for li in event.order.line_items] == [Decimal("20.00")]
    assert amount(request(1), fold(event)) == (Decimal("20.00"), "")  # not 21.48: the tax is in the 20.00


def test_a_unit_whose_tax_comes_on_top_is_worth_its_tax_too_and_a_refund_without_it_is_short() -> None:
    event = placed(vat_inside(included=False))

    assert not event.order.taxes_included
    assert amount(request(1), fold(event)) == (Decimal("21.48"), "")
    state = fold(event, refunded_in_full())  # 20.00 and 1.48 of tax: in a tax-exclusive order, 21.48 was paid
    assert superseded(request(1), state) == ""
    assert amount(request(1), state) == (
        None,
        f"units of line item {LINE} were refunded for less than they were worth (refund 2000001 gave 20.00 for lines "
        "worth 21.48): what is left to refund is for a person to decide",
    )


@pytest.mark.parametrize("value", ["true", 1, "example string"])
def test_an_order_whose_taxes_included_is_not_a_boolean_is_refused_with_the_field_named(value: object) -> None:
    payload = vat_inside()
    payload["taxes_included"] = value

    with pytest.raises(InvalidPayload, match="orders/create: field 'taxes_included' is neither true nor false"):
        normalise("orders/create", SHOP, payload, None)


def test_an_order_that_does_not_say_is_tax_exclusive() -> None:
    payload = vat_inside()
    del payload["taxes_included"]

    assert not placed(payload).order.taxes_included


def test_a_line_that_carries_no_tax_lines_is_of_unknown_worth_and_its_return_goes_to_a_person() -> None:
    payload = vat_inside(included=False)
    del payload["line_items"][0]["tax_lines"]  # Shopify's webhooks always carry them; the sweep may not have read them
    event = placed(payload)

    assert [li.paid for li in event.order.line_items] == [None]
    paid, why = amount(request(1), fold(event))
    assert paid is None
    assert why == (
        f"what the customer paid for line item {LINE} is not known (the order was stored before the desk kept it, "
        "or its tax or discounts did not read)"
    )


@pytest.mark.parametrize("refund_first", [False, True])
def test_a_refund_of_a_unit_at_its_tax_inclusive_price_pays_it_in_full_in_either_delivery_order(
    refund_first: bool,
) -> None:
    events = [placed(vat_inside()), refunded_in_full()]
    state = fold(*(reversed(events) if refund_first else events))

    assert state == fold(*events)
    assert state.refunded_for == {
        2_000_001: RefundFor(None, ((LINE, 1),), Decimal("20.00"), Decimal("21.48"), Decimal("1.48"))
    }
    assert superseded(request(1), state) == (
        "the items of return 4000001 were refunded already: it is not a new request to refund"
    )


def test_a_refund_heard_of_before_its_order_counts_as_tax_exclusive_until_the_order_is_known() -> None:
    state = fold(refunded_in_full())  # 20.00 for lines worth 21.48 as far as the desk knows: short
    assert state.refunded_for[2_000_001].short(taxes_included=False)
    assert not state.refunded_for[2_000_001].short(taxes_included=True)
    assert superseded(request(1), state) == ""  # the order unknown: not superseded, its amount unknown
    assert amount(request(1), state)[0] is None


def test_the_order_state_keeps_the_flag_and_a_state_stored_before_it_decodes_tax_exclusive() -> None:
    state = fold(placed(vat_inside()), refunded_in_full())
    stored = encode_order(state)

    decoded = decode_order(SHOP, ORDER, stored, None, None, state.last_event_at)
    assert decoded == state
    assert decoded.snapshot is not None and decoded.snapshot.taxes_included

    before = stored.replace('"taxes_included":true,', "")  # a state stored before ADR 0051
    assert before != stored
    old = decode_order(SHOP, ORDER, before, None, None, state.last_event_at)
    assert old.snapshot is not None and not old.snapshot.taxes_included
    assert old == replace(state, snapshot=replace(state.snapshot, taxes_included=False))
