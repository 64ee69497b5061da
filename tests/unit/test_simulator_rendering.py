"""The simulator's shortcuts in rendering deliveries give exactly what the plain way gives."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.shaping import RECENT_ORDERS, Line, Order, Renderer, triggered_at
from opsdesk.simulator.store import Store

T0 = datetime(2026, 11, 23, 5, 0, 1, 250_000, tzinfo=UTC)


def an_order(order_id: int = 7, lines: int = 2) -> Order:
    price, shipping = Decimal("19.90"), Decimal("4.50")
    items = [
        Line(order_id * 10 + i, 100 + i, 200 + i, 300 + i, f"SKU-{i}", f"Product {i}", 1, price)
        for i in range(lines)
    ]
    return Order(order_id, 3, "buyer@example.com", 42, T0, items, shipping, "shopify_payments", 9, "1ZAB")


def test_an_orders_later_payloads_are_those_built_afresh() -> None:
    kept, o = Renderer("s.myshopify.com", "k"), an_order()
    renders = [
        (T0, "authorized", None, {}),
        (T0 + timedelta(minutes=20), "paid", None, {}),
        (T0 + timedelta(minutes=20, seconds=3), "paid", None, {}),
        (T0 + timedelta(days=2), "paid", "fulfilled", {}),
        (T0 + timedelta(days=3), "voided", None, {"cancelled_at": "2026-11-26", "cancel_reason": "other"}),
        (T0 + timedelta(days=4), "pending", None, {}),  # after a cancellation, nothing of it is left over
    ]
    for at, financial, fulfillment, extra in renders:
        fresh = Renderer("s.myshopify.com", "k").order(o, at, financial, fulfillment, **extra)
        again = kept.order(o, at, financial, fulfillment, **extra)
        assert orjson.dumps(again) == orjson.dumps(fresh)


def test_the_renderer_keeps_a_bounded_number_of_orders() -> None:
    r = Renderer("s.myshopify.com", "k")
    for i in range(RECENT_ORDERS + 10):
        r.order(an_order(i, lines=1), T0, "paid", None)
    assert len(r._recent) == RECENT_ORDERS
    assert 0 not in r._recent and RECENT_ORDERS + 9 in r._recent  # the oldest went first


def test_triggered_at_is_strftimes_text() -> None:
    rng = random.Random(5)
    times = [T0 + timedelta(seconds=rng.uniform(0, 10**7)) for _ in range(500)]
    times += [t.replace(microsecond=0) for t in times[:50]] + [t.replace(tzinfo=None) for t in times[:50]]
    for at in times:
        assert triggered_at(at) == at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_webhook_ids_are_the_version_4_uuids_of_the_seeded_bits() -> None:
    store, rng = Store(Scenario(name="ids", seed=11, products=3), "k"), random.Random()
    for _ in range(200):
        rng.setstate(store.rng.getstate())
        assert store._uuid() == str(uuid.UUID(int=rng.getrandbits(128), version=4))
