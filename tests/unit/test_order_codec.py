"""The order-state codec: what the orders table keeps is decoded back exactly, rows stored by older versions
included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from opsdesk.domain.events import LineItem, OrderId, OrderSnapshot, ShippingAddress, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.shipments import Scan, Withdrawn
from opsdesk.storage.codec import decode_order, encode_order

SHOP = ShopDomain("alpha.myshopify.com")
ORDER = OrderId(820_982_911_946_154_508)
AT = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
EUR = "EUR"

STATE = OrderState(
    shop=SHOP,
    order_id=ORDER,
    snapshot=OrderSnapshot(
        id=ORDER, name="#1001", email="ada@example.com", customer_id=7_446_372_194_617, currency=EUR,
        total=Money(Decimal("104.50"), EUR), subtotal=Money(Decimal("100.00"), EUR),
        total_discounts=Money(Decimal("0.00"), EUR), financial_status="pending", fulfillment_status="",
        cancelled_at=None, created_at=AT, updated_at=AT + timedelta(minutes=5), tags=("vip",),
        source_name="web", line_items=(LineItem(1, "SKU-1", 2, 3, 1, Decimal("100.00"), Decimal("0")),),
        discount_codes=(), shipping_country="PT", location_id=None,
        shipping_address=ShippingAddress(name="Ada", city="Porto", country_code="PT"),
        payment_gateways=("gift_card", "Cash on Delivery (COD)"),
    ),
    refunds={5: Versioned("issued", AT, Decimal("4.50"))},
    owner="olga",
    last_event_at=AT + timedelta(minutes=5),
    last_event="order.updated",
)

#: The same order as ``encode_order`` wrote it before orders kept their payment gateways (commit 933a3b4).
STORED_BEFORE = (
    '{"snapshot":{"id":820982911946154508,"name":"#1001","email":"ada@example.com","customer_id":7446372194617,'
    '"currency":"EUR","total":{"amount":"104.50","currency":"EUR"},"subtotal":{"amount":"100.00","currency":"EUR"},'
    '"total_discounts":{"amount":"0.00","currency":"EUR"},"financial_status":"pending","fulfillment_status":"",'
    '"cancelled_at":null,"created_at":"2026-03-02T09:15:30.123456+00:00",'
    '"updated_at":"2026-03-02T09:20:30.123456+00:00","tags":["vip"],"source_name":"web","discount_codes":[],'
    '"shipping_country":"PT","location_id":null,"cancel_reason":"","shipping_address":{"name":"Ada",'
    '"street1":"","street2":"","city":"Porto","province_code":"","zip":"","country_code":"PT","phone":""},'
    '"applied_discounts":[],"customer_created_at":null,"line_items":[[1,"SKU-1",2,3,1,"100.00","0"]]},'
    '"fulfillments":{},"returns":{},"refunds":{"5":["issued","2026-03-02T09:15:30.123456+00:00","4.50"]},'
    '"disputes":{},"carrier":null,"last_event":"order.updated","risk":null,"damage_claims":[]}'
)


def decode(text: str) -> OrderState:
    return decode_order(SHOP, ORDER, text, STATE.owner, STATE.ship_by, STATE.last_event_at)


def test_an_order_state_round_trips_with_its_payment_gateways() -> None:
    assert decode(encode_order(STATE)) == STATE


def test_an_order_keeps_the_product_titles_of_its_lines_and_one_stored_before_them_has_none() -> None:
    assert STATE.snapshot is not None
    line = replace(STATE.snapshot.line_items[0], title="Porto tote")
    titled = replace(STATE, snapshot=replace(STATE.snapshot, line_items=(line,)))

    before = decode(STORED_BEFORE).snapshot
    assert decode(encode_order(titled)) == titled
    assert before is not None and [li.title for li in before.line_items] == [""]


def test_an_order_stored_before_payment_gateways_were_kept_decodes_with_none() -> None:
    assert STATE.snapshot is not None

    assert decode(STORED_BEFORE) == replace(STATE, snapshot=replace(STATE.snapshot, payment_gateways=()))


def test_an_order_paid_late_keeps_when_it_was_seen_awaiting_payment_and_paid() -> None:
    paid_late = replace(STATE, first_awaiting_at=AT, first_paid_at=AT + timedelta(days=3))
    assert decode(encode_order(paid_late)) == paid_late and decode(encode_order(paid_late)).paid_late_at
    assert decode(STORED_BEFORE).paid_late_at is None  # stored before the field: nothing seen


def test_an_order_keeps_its_fulfilments_shipment_statuses_and_one_stored_before_them_has_none() -> None:
    shipped = replace(STATE, fulfillments={7: Versioned("success", AT)}, shipments={7: Versioned("in_transit", AT)},
                      carrier_status=Versioned("in_transit", AT))
    assert decode(encode_order(shipped)) == shipped
    assert decode(STORED_BEFORE).shipments == {}  # stored before the field: the sweep reads them back


def test_an_order_keeps_its_carrier_scans_and_deleted_ones_and_one_stored_before_them_counts_its_shipments() -> None:
    scanned = replace(STATE, shipments={7: Versioned("in_transit", AT)}, carrier_status=Versioned("in_transit", AT),
                      scans={11: Scan(7, "in_transit", AT), 12: Scan(7, "delivered", AT + timedelta(hours=1))},
                      withdrawn={12: Withdrawn(Scan(7, "delivered", AT + timedelta(hours=1)), AT + timedelta(hours=2))},
                      reported={7: Versioned("in_transit", AT)})
    assert decode(encode_order(scanned)) == scanned
    stored = orjson.loads(encode_order(scanned))
    for key in ("scans", "withdrawn", "reported"):
        del stored[key]
    before = decode(orjson.dumps(stored).decode())  # ADR 0065: its shipments are what its fulfilments reported
    assert (before.scans, before.withdrawn, before.reported) == ({}, {}, {7: Versioned("in_transit", AT)})
