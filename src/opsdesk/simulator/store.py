"""The simulated store: orders arrive on the calibrated rhythm and live their calibrated lifecycles.

Each order, when it arrives, gets its whole life scheduled (payment, fulfilment, carrier scans, maybe a cancellation,
return, refund or dispute), with the scenario's incidents applied to the parts that fall in their windows. Each step
becomes a delivery that reaches opsdesk a little later; a few arrive late enough to overtake others, a few twice (the
same webhook id, as Shopify retries) — the way Shopify delivers. Everything is drawn from seeded generators (the
store's; the carrier trouble's own, ADR 0011), so a seed gives the same deliveries.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from opsdesk.services.ahead import Checked
from opsdesk.simulator import lifecycle
from opsdesk.simulator.calibration import Calibration, load_calibration
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.shaping import Line, Order, Renderer
from opsdesk.simulator.truth import Affected, IncidentTruth, Truth


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signed delivery and the virtual time it reaches opsdesk."""

    at: datetime
    topic: str
    headers: dict[str, str]
    body: bytes
    #: the desk's verdict and events, when they were worked out ahead (``opsdesk.services.ahead``)
    checked: Checked | None = None


@dataclass(slots=True)
class Product:
    id: int
    variant_id: int
    item_id: int
    sku: str
    price: Decimal
    stock: int


_Render = Callable[[], dict[str, Any]]
#: What stands in the delivery heap: a payload to render, a delivery to send again, or a shadow (``shadow``).
_Item = _Render | tuple[dict[str, str], bytes] | str
SHADOW, SHADOW_AGAIN = "shadow", "shadow again"
#: Ids are drawn upwards from here (Shopify's order ids are of this size).
FIRST_ID = 5_000_000_000_000_000_000
#: The carrier's trouble scans' ids, far above any the store draws from ``FIRST_ID``.
TROUBLE_IDS = 7_000_000_000_000_000_000


def catalogue(scenario: Scenario, calibration: Calibration | None = None) -> list[Product]:
    """The store's products, as ``Store`` draws them first from the scenario's seed: what its Shopify knows."""
    return _draw_products(random.Random(scenario.seed), calibration or load_calibration(), scenario.products)[0]


def _draw_products(rng: random.Random, cal: Calibration, n: int) -> tuple[list[Product], int]:
    """``n`` products drawn from ``rng``, and the last id drawn (the store's next ids are drawn above it)."""
    last = FIRST_ID
    products = []
    for i in range(n):
        price = Decimal(str(round(cal.price(rng), 2)))
        ids = []
        for _ in range(3):  # the product, its variant, its inventory item
            last += rng.randrange(1, 65536)
            ids.append(last)
        product, variant, item = ids
        products.append(Product(product, variant, item, f"SKU-{i:05d}", max(price, Decimal("1.00")),
                                rng.randrange(20, 400)))
    return products, last


def ground_truth(scenario: Scenario) -> Truth:
    """The truth of a scenario before any order: its incidents' windows and parameters."""
    truth = Truth(scenario.name, scenario.seed, scenario.shop, scenario.start, scenario.end, scenario.horizon)
    truth.incidents = [
        IncidentTruth(i.kind, scenario.start + i.at, scenario.start + i.at + i.duration, dict(i.params))
        for i in scenario.incidents
    ]
    return truth


class Store:
    """Yields the store's deliveries in the order they reach opsdesk, and keeps the ground truth."""

    def __init__(self, scenario: Scenario, secret: str, calibration: Calibration | None = None) -> None:
        self.s = scenario
        self.cal = calibration or load_calibration()
        self.rng = random.Random(scenario.seed)
        self.render = Renderer(scenario.shop, secret)
        self.truth = ground_truth(scenario)
        self._heap: list[tuple[datetime, int, str, _Item, bool, random.Random]] = []
        #: the carrier's trouble (``trouble.py``) draws from its own generator and ids (ADR 0011, session 15)
        self.trouble_rng = random.Random(f"carrier-trouble:{scenario.seed}")
        self._trouble_id = TROUBLE_IDS
        self._seq = 0
        self.products, self._next_id = _draw_products(self.rng, self.cal, scenario.products)
        #: the products by variant id (ids are unique: each is drawn above the last), for the stock
        self.by_variant = {p.variant_id: p for p in self.products}
        #: the scenario's horizon, read for every delivery (the property adds two timedeltas each time)
        self.horizon = scenario.horizon
        self._arrivals = self._arrival_times()
        #: the last 5,000 orders delivered to the customer, for injected returns
        self._delivered: deque[Order] = deque(maxlen=5000)
        pairs = zip(scenario.incidents, self.truth.incidents, strict=True)
        self._pending = sorted(pairs, key=lambda pair: pair[1].start)
        #: incidents started so far: each start may add to its truth's params (the discount's id)
        self.incidents_started = 0
        self._hot = self.products[0]

    # -- identities ------------------------------------------------------------------------------
    def _id(self) -> int:
        self._next_id += self.rng.randrange(1, 65536)
        return self._next_id

    def trouble_id(self) -> int:
        self._trouble_id += self.trouble_rng.randrange(1, 65536)
        return self._trouble_id

    def _uuid(self, rng: random.Random | None = None) -> str:
        """A version-4 UUID from a seeded generator, as text, without building a ``uuid.UUID`` (two a delivery)."""
        bits = (rng or self.rng).getrandbits(128)
        bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
        h = bits.to_bytes(16, "big").hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # -- the arrival rhythm ----------------------------------------------------------------------
    def _arrival_times(self) -> list[datetime]:
        """Orders of each day: the day's count by weekday, each at a calibrated hour."""
        times: list[datetime] = []
        day = self.s.first_order_at
        while day < self.s.end:
            weight = (
                self.cal.weekday_weights[day.weekday()]
                * 7
                * (self.s.day_factor if day >= self.s.start else 1)
            )
            span = min(timedelta(days=1), self.s.end - day)
            count = round(self.s.orders_per_day * weight * span / timedelta(days=1))
            for _ in range(count):
                offset = timedelta(hours=self.cal.hour(self.rng), seconds=self.rng.random() * 3600)
                if offset < span:
                    times.append(day + offset)
            day += timedelta(days=1)
        times.sort(reverse=True)  # popped from the end
        return times

    # -- the delivery stream ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[Delivery]:
        while self._arrivals or self._heap:
            upcoming = self._arrivals[-1] if self._arrivals else None
            if upcoming is not None and (not self._heap or upcoming <= self._heap[0][0]):
                self._inject(upcoming)
                self._spawn(self._arrivals.pop())
                continue
            self._inject(self._heap[0][0])
            delivery = self._pop()
            if delivery is not None:
                yield delivery

    def _pop(self) -> Delivery | None:
        at, _seq, topic, item, duplicate, rng = heapq.heappop(self._heap)
        if isinstance(item, str):  # a shadow: draws what its delivery would have, sends nothing
            if item == SHADOW:
                self._uuid(rng), self._uuid(rng)
                if rng.random() < self.s.duplicate_share:
                    self._push(at + timedelta(seconds=rng.uniform(5, 600)), topic, SHADOW_AGAIN, rng, True)
            return None
        if callable(item):
            headers, body = self.render.sign(topic, item(), at, self._uuid(rng), self._uuid(rng))
            if rng.random() < self.s.duplicate_share:  # Shopify retries: same webhook id, later
                self._push(at + timedelta(seconds=rng.uniform(5, 600)), topic, (headers, body), rng, True)
        else:
            headers, body = item
        self.truth.record(topic, headers["X-Shopify-Webhook-Id"], body, duplicate=duplicate)
        return Delivery(at, topic, headers, body)

    def _push(self, at: datetime, topic: str, item: _Item, rng: random.Random, dup: bool = False) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, topic, item, dup, rng))

    def emit(self, at: datetime, topic: str, render: _Render, rng: random.Random | None = None) -> None:
        """Schedule a delivery for a store event at ``at``; it reaches opsdesk a little later. Its draws come
        from ``rng`` (the store's generator by default)."""
        if at > self.horizon:
            return
        rng = rng or self.rng
        delay = rng.uniform(0.2, 3.0)
        if rng.random() < self.s.reorder_share:  # slow delivery: later events overtake it
            delay += rng.uniform(20, 300)
            self.truth.reordered += 1
        self._push(at + timedelta(seconds=delay), topic, render, rng)

    def shadow(self, at: datetime) -> None:
        """Draw what a delivery at ``at`` would, now and when due, and send nothing (what a parcel in trouble did
        not send): the rest of the store draws what it would have."""
        if at > self.horizon:
            return
        delay = self.rng.uniform(0.2, 3.0)
        if self.rng.random() < self.s.reorder_share:
            delay += self.rng.uniform(20, 300)
        self._push(at + timedelta(seconds=delay), "", SHADOW, self.rng)

    # -- one order's life ------------------------------------------------------------------------
    def _spawn(self, t0: datetime) -> None:
        self.truth.orders += 1
        order = self.new_order(t0)
        lifecycle.schedule(self, order, t0)
        self.truth.totals[order.id] = order.total  # as scheduled: an incident may have changed its lines

    def new_order(self, t0: datetime) -> Order:
        rng = self.rng
        lines = []
        for _ in range(self.cal.line_count(rng)):
            product = rng.choice(self.products)
            lines.append(
                Line(
                    self._id(),
                    product.id,
                    product.variant_id,
                    product.item_id,
                    product.sku,
                    f"Product {product.sku}",
                    1,
                    product.price,
                )
            )
        shipping = Decimal(str(round(self.cal.shipping(rng), 2)))
        life = self.cal.lifecycle(rng)
        gateway = {"boleto": "manual", "voucher": "gift_card"}.get(life.payment_type, "shopify_payments")
        order = Order(
            self._id(),
            self.truth.orders,
            f"buyer{rng.randrange(10**6)}@example.com",
            self._id(),
            t0,
            lines,
            shipping,
            gateway,
            self._id(),
            f"1Z{rng.getrandbits(64):016X}",
        )
        order.state["life"] = life
        order.state["risk"] = rng.choices(("low", "medium", "high"), (90, 8, 2))[0]
        order.risk = order.state["risk"]
        if rng.random() < 0.08:  # the store's ordinary code, the baseline for the discount playbooks
            self.apply_discount(order, "SAVE10", 10.0)
        return order

    @staticmethod
    def apply_discount(order: Order, code: str, percent: float) -> None:
        order.discount_code, order.discount_percent = code, percent
        for line in order.lines:
            line.discount = (line.price * line.quantity * Decimal(str(percent)) / 100).quantize(
                Decimal("0.01")
            )

    # -- incidents -------------------------------------------------------------------------------
    def active(self, kind: str, at: datetime) -> IncidentTruth | None:
        """The incident of ``kind`` whose window contains ``at``, if any."""
        for truth in self.truth.incidents:
            if truth.kind == kind and truth.start <= at < truth.end:
                return truth
        return None

    def affect(
        self, truth: IncidentTruth, at: datetime, order: Order | None, amount: Decimal, why: str
    ) -> None:
        truth.affected.append(Affected(at, order.id if order else None, amount))
        if order is not None:
            self.truth.person(order.id, why)

    def delivered(self, order: Order) -> None:
        self._delivered.append(order)

    def _inject(self, now: datetime) -> None:
        """Start incidents whose window has begun: shop-level deliveries and injected events."""
        while self._pending and self._pending[0][1].start <= now:
            incident, truth = self._pending.pop(0)
            lifecycle.start_incident(self, incident, truth)
            self.incidents_started += 1

    def hot_product(self) -> Product:
        return self._hot

    def candidates(self, before: datetime) -> list[Order]:
        return [
            o
            for o in self._delivered
            if o.state.get("delivered_at", before) < before and not o.state.get("returned")
        ]
