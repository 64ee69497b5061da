"""``refunds/create`` and ``disputes/*``: money leaving the store."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opsdesk.domain.events import (
    DisputeChange,
    DisputeChanged,
    OrderId,
    RefundCreated,
    RefundLine,
    ShopDomain,
    StoreEvent,
)
from opsdesk.domain.money import Money
from opsdesk.domain.worth import share
from opsdesk.normalise.fields import (
    JSON,
    FieldError,
    each,
    find_datetime,
    find_decimal,
    find_id,
    find_int,
    get_decimal,
    get_id,
    get_int,
    get_text,
    is_object,
    occurred_at,
    text,
    total,
    within,
)

_REFUND_TIMES = ("processed_at", "created_at")
# The latest step of the dispute's life that the payload dates; a dispute has no updated_at.
_DISPUTE_TIMES = ("updated_at", "finalized_on", "evidence_sent_on", "initiated_at")
_NO_CURRENCY = "XXX"

Amount = tuple[Decimal, str]


def refund_created(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """``refunds/create``: the refund, the money it returned, and what it was for: its return (``return``, null
    for a refund not made from a return) and the line items it refunded (``refund_line_items``)."""
    return (_refund(payload, shop, triggered_at, OrderId(get_id(payload, "order_id", None))),)


def listed_refunds(
    order: JSON, order_id: OrderId, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[RefundCreated, ...]:
    """The refunds an order's payload lists (``refunds``: each the refund ``refunds/create`` delivers, as when an
    order is cancelled with a refund), as the events their own webhooks make: the same key, time and money, so the
    order's ledger counts each once whichever comes first (ADR 0041, session 15). A refund that does not read is
    left out, and so is a ``refunds`` that is not a list: the order is still taken (its cancellation matters more
    than one refund), and the refund's own delivery is refused naming the field."""
    listed = order.get("refunds")
    if type(listed) is not list:
        return ()
    found: list[RefundCreated] = []
    for refund in filter(is_object, listed):
        try:
            found.append(_refund(refund, shop, triggered_at, order_id))
        except FieldError:
            continue
    return tuple(found)


def _refund(payload: JSON, shop: ShopDomain, triggered_at: datetime | None, order: OrderId) -> RefundCreated:
    lines = each(payload, "refund_line_items", _refunded_line)
    return RefundCreated(
        shop,
        occurred_at(payload, _REFUND_TIMES, triggered_at),
        refund_id=get_id(payload),
        order=order,
        amount=refunded(payload),
        note=text(payload, "note"),
        return_id=within(payload, "return", find_id),
        lines=tuple(line for line in lines if line is not None),
        shipping=refunded_shipping(payload),
        other=refunded_apart(payload),
    )


def refunded(refund: JSON) -> Money:
    """Successful refund transactions, else the refunded lines' subtotals (a refund can move no money)."""
    paid = [amount for amount in each(refund, "transactions", _refund_transaction) if amount is not None]
    if paid:
        return _sum(paid, "transactions", refund)
    return _sum(list(each(refund, "refund_line_items", _line_subtotal)), "refund_line_items", refund)


def dispute_changed(
    change: DisputeChange, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """``disputes/create|update``: a chargeback or inquiry; type, reason and status kept as sent."""
    order = find_id(payload, "order_id", None)
    return (
        DisputeChanged(
            shop,
            occurred_at(payload, _DISPUTE_TIMES, triggered_at),
            change=change,
            dispute_id=get_id(payload),
            order=None if order is None else OrderId(order),
            amount=Money(get_decimal(payload, "amount"), get_text(payload, "currency")),
            kind=text(payload, "type"),
            reason=text(payload, "reason"),
            status=text(payload, "status"),
            evidence_due_by=find_datetime(payload, "evidence_due_by"),
        ),
    )


def refunded_shipping(refund: JSON) -> Decimal:
    """What the refund gave back for shipping, with its tax: its ``refund_shipping_lines`` (API 2024-10 on), or its
    ``shipping_refund`` order adjustments (Shopify's sign: negative), the greater when it has both (each says the
    same shipping refunded; the greater leaves the lines less money, so the doubt goes to a person)."""
    lines = total(each(refund, "refund_shipping_lines", _shipping_line), "refund_shipping_lines")
    adjusted = total(each(refund, "order_adjustments", _shipping_adjustment), "order_adjustments")
    return max(lines, adjusted)


def refunded_apart(refund: JSON) -> Decimal:
    """What the refund gave back for neither its lines nor shipping (ADR 0061): its duties (``duties``' amounts, or
    ``total_duties_set``, the greater: they say the same duties twice) and its order adjustments other than
    ``shipping_refund`` (a discrepancy between the refund Shopify calculated and the money that moved: its amount and
    tax, whatever the sign, since either way it is not what the lines were paid)."""
    duties = total(each(refund, "duties", lambda duty: _amount(duty, "amount")), "duties")
    declared = within(refund, "total_duties_set", _shop_money)
    adjusted = total(each(refund, "order_adjustments", _other_adjustment), "order_adjustments")
    return max(duties, Decimal(0) if declared is None else declared[0]) + adjusted


def _other_adjustment(adjustment: JSON) -> Decimal:
    if text(adjustment, "kind") == "shipping_refund":
        return Decimal(0)
    return abs(_amount(adjustment, "amount")) + abs(_amount(adjustment, "tax_amount"))


def _shipping_line(line: JSON) -> Decimal:
    return _amount(line, "subtotal_amount") + _amount(line, "tax_amount")


def _shipping_adjustment(adjustment: JSON) -> Decimal:
    if text(adjustment, "kind") != "shipping_refund":
        return Decimal(0)
    return abs(_amount(adjustment, "amount")) + abs(_amount(adjustment, "tax_amount"))


def _amount(obj: JSON, key: str) -> Decimal:
    """``<key>_set``'s shop money, else ``<key>``; 0 when neither is sent."""
    from_set = within(obj, f"{key}_set", _shop_money)
    if from_set is not None:
        return from_set[0]
    found = find_decimal(obj, key)
    return Decimal(0) if found is None else found


def _refunded_line(line: JSON) -> RefundLine | None:
    """The refunded line item (``line_item.id``, exact from its gid, else ``line_item_id``), its quantity, its
    subtotal (``subtotal_set``'s shop money, else ``subtotal``) and its tax (``total_tax_set``, else ``total_tax``),
    each None when not sent, and each at least the units' share of what the order's line says the customer paid
    (``line_item``: its price times its quantity less its discount allocations; its tax lines), when it says;
    None for a line that names no line item."""
    line_item = within(line, "line_item", find_id)
    line_item = find_id(line, "line_item_id", None) if line_item is None else line_item
    if line_item is None:
        return None
    units = get_int(line, "quantity")
    sold = within(line, "line_item", _sold) or (None, None)
    subtotal = _greater(_sent(line, "subtotal"), _share(sold[0], units))
    return RefundLine(line_item, units, subtotal, _greater(_sent(line, "total_tax"), _share(sold[1], units)))


def _sent(line: JSON, key: str) -> Decimal | None:
    return _amount(line, key) if line.get(f"{key}_set") or line.get(key) is not None else None


def _sold(item: JSON) -> tuple[tuple[Decimal, int] | None, tuple[Decimal, int] | None]:
    """What the order's line says the customer paid for its units, before tax and the tax, with its quantity."""
    money = line_money(item)
    if money is None:
        return None, None
    gross, allocated, tax, quantity = money
    return (gross - allocated, quantity), (tax, quantity)


def line_money(item: JSON) -> tuple[Decimal, Decimal, Decimal, int] | None:
    """An order's line item's money: its price times its quantity, its discount allocations, its tax (its tax
    lines), its quantity; None when it has no price or no units."""
    price, quantity = find_decimal(item, "price"), find_int(item, "quantity")
    if price is None or not quantity or quantity < 0:
        return None
    discounts = total(each(item, "discount_allocations", lambda a: _amount(a, "amount")), "discount_allocations")
    tax = total(each(item, "tax_lines", lambda t: _amount(t, "price")), "tax_lines")
    return price * quantity, discounts, tax, quantity


def _share(sold: tuple[Decimal, int] | None, units: int) -> Decimal | None:
    """The units' share of the line's amount, to the cent below (Shopify splits a line's cents between its
    units: a refund within the cent of the share is in full)."""
    if sold is None:
        return None
    amount, quantity = sold
    try:
        return share(amount, quantity, units)
    except ArithmeticError as exc:
        raise FieldError("line_item", "is worth an amount out of range") from exc


def _greater(sent: Decimal | None, share: Decimal | None) -> Decimal | None:
    return sent if share is None else share if sent is None else max(sent, share)


def _refund_transaction(transaction: JSON) -> Amount | None:
    if text(transaction, "kind") != "refund" or text(transaction, "status") != "success":
        return None
    return get_decimal(transaction, "amount"), text(transaction, "currency")


def _line_subtotal(line: JSON) -> Amount:
    from_set = within(line, "subtotal_set", _shop_money)
    return (get_decimal(line, "subtotal"), "") if from_set is None else from_set


def _shop_money(money_set: JSON) -> Amount:
    shop_money = within(money_set, "shop_money", _money)
    if shop_money is None:
        raise FieldError("shop_money", "is missing")
    return shop_money


def _money(money: JSON) -> Amount:
    return get_decimal(money, "amount"), text(money, "currency_code")


def _sum(amounts: list[Amount], path: str, refund: JSON) -> Money:
    currencies = {currency for _, currency in amounts if currency}
    if len(currencies) > 1:
        raise FieldError(path, f"mixes currencies: {sorted(currencies)}")
    currency = currencies.pop() if currencies else _refund_currency(refund)
    return Money(total([amount for amount, _ in amounts], path), currency)


def _refund_currency(refund: JSON) -> str:
    """The shop currency named in the refund's money sets, for amounts that do not name it."""
    for currency in each(refund, "refund_line_items", _line_currency):
        if currency:
            return currency
    return within(refund, "total_duties_set", _set_currency) or _NO_CURRENCY


def _line_currency(line: JSON) -> str:
    return within(line, "subtotal_set", _set_currency) or ""


def _set_currency(money_set: JSON) -> str:
    return within(money_set, "shop_money", _currency_code) or ""


def _currency_code(money: JSON) -> str:
    return text(money, "currency_code")
