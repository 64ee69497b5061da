"""The benchmark corpus: deterministic, signed, exact, realistic and consistent Shopify deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.corpus import iter_deliveries, write_jsonl

SECRET = "shpss_corpus_test_secret"
N = 4000
ORDER_TOPICS = {"orders/create", "orders/paid", "orders/updated", "orders/fulfilled"}
TOPICS = ORDER_TOPICS | {"fulfillments/create", "fulfillment_events/create", "returns/request",
                         "refunds/create", "disputes/create", "inventory_levels/update", "products/update"}
REASONS = {"SIZE_TOO_LARGE", "SIZE_TOO_SMALL", "COLOR", "STYLE", "UNWANTED", "DEFECTIVE", "NOT_AS_DESCRIBED",
           "WRONG_ITEM"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TRIGGERED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
GID = re.compile(r"^gid://shopify/\w+/(\d+)$")


@pytest.fixture(scope="module")
def deliveries() -> list[dict[str, Any]]:
    return list(iter_deliveries(N, secret=SECRET, seed=3, shops=2))


@pytest.fixture(scope="module")
def parsed(deliveries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The first half, parsed: enough whole lifecycles, at half the parsing time."""
    return [(topic_of(d), orjson.loads(d["body"])) for d in deliveries[: N // 2]]


def topic_of(delivery: dict[str, Any]) -> str:
    return delivery["headers"]["X-Shopify-Topic"]


def order_id(topic: str, body: dict[str, Any]) -> int | None:
    if topic in ORDER_TOPICS:
        return body["id"]
    return body["order"]["id"] if topic == "returns/request" else body.get("order_id")


def by_order(parsed: list[tuple[str, dict[str, Any]]]) -> dict[int, list[tuple[str, dict[str, Any]]]]:
    orders: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for topic, body in parsed:
        if (key := order_id(topic, body)) is not None:
            orders[key].append((topic, body))
    return orders


def test_same_seed_writes_byte_identical_files_and_shorter_runs_are_prefixes(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", 800, secret=SECRET, seed=7)
    write_jsonl(tmp_path / "b.jsonl", 800, secret=SECRET, seed=7)
    write_jsonl(tmp_path / "c.jsonl", 300, secret=SECRET, seed=7)
    write_jsonl(tmp_path / "d.jsonl", 800, secret=SECRET, seed=8)
    first = (tmp_path / "a.jsonl").read_bytes()
    assert first == (tmp_path / "b.jsonl").read_bytes()
    assert first.startswith((tmp_path / "c.jsonl").read_bytes())
    assert first != (tmp_path / "d.jsonl").read_bytes()
    assert first.count(b"\n") == 800


def test_stops_after_exactly_n_deliveries(deliveries: list[dict[str, Any]]) -> None:
    assert len(deliveries) == N
    assert list(iter_deliveries(0, secret=SECRET)) == []


def test_every_hmac_verifies_with_the_secret_and_not_with_another(deliveries: list[dict[str, Any]]) -> None:
    def signature(secret: str, body: str) -> str:
        return base64.b64encode(hmac.digest(secret.encode(), body.encode(), hashlib.sha256)).decode()

    assert all(hmac.compare_digest(signature(SECRET, d["body"]), d["headers"]["X-Shopify-Hmac-Sha256"])
               for d in deliveries)
    assert signature("other", deliveries[0]["body"]) != deliveries[0]["headers"]["X-Shopify-Hmac-Sha256"]


def test_headers_carry_unique_webhook_ids_and_an_increasing_clock(deliveries: list[dict[str, Any]]) -> None:
    headers = [d["headers"] for d in deliveries]
    assert {h["X-Shopify-API-Version"] for h in headers} == {"2026-07"}
    assert {h["X-Shopify-Shop-Domain"] for h in headers} == {"shop-1.myshopify.com", "shop-2.myshopify.com"}
    assert len({h["X-Shopify-Webhook-Id"] for h in headers}) == N
    assert all(UUID.match(h["X-Shopify-Webhook-Id"]) and UUID.match(h["X-Shopify-Event-Id"]) for h in headers)
    triggered = [h["X-Shopify-Triggered-At"] for h in headers]
    assert all(TRIGGERED_AT.match(t) for t in triggered)
    assert all(a < b for a, b in itertools.pairwise(triggered))


def test_topics_follow_order_lifecycles_in_a_realistic_mix(deliveries: list[dict[str, Any]]) -> None:
    counts = Counter(map(topic_of, deliveries))
    created = counts["orders/create"]
    assert set(counts) <= TOPICS
    assert set(counts) >= TOPICS - {"disputes/create", "refunds/create"}
    assert 0.10 < created / N < 0.16
    assert 0.95 < counts["orders/paid"] / created <= 1
    assert 1.3 < counts["orders/updated"] / counts["orders/paid"] < 1.7
    assert abs(counts["orders/fulfilled"] - counts["fulfillments/create"]) <= 2  # the run may end between
    assert 1.9 < counts["fulfillment_events/create"] / counts["fulfillments/create"] < 2.8  # run ends mid-way
    early = {orjson.loads(d["body"])["id"] for d in deliveries[: N // 2] if topic_of(d) == "orders/create"}
    returns = [orjson.loads(d["body"]) for d in deliveries if topic_of(d) == "returns/request"]
    returned = {body["order"]["id"] for body in returns}
    assert 0.03 < len(early & returned) / len(early) < 0.14  # about 8% of the orders that had time to return
    assert 0.15 < counts["inventory_levels/update"] / created < 0.35
    assert 0 < counts["products/update"] / created < 0.1


def test_each_delivered_order_went_through_its_whole_lifecycle(
        parsed: list[tuple[str, dict[str, Any]]]) -> None:
    delivered = 0
    for events in by_order(parsed).values():
        statuses = [body["status"] for topic, body in events if topic == "fulfillment_events/create"]
        if events[0][0] != "orders/create" or "delivered" not in statuses:
            continue
        delivered += 1
        counts = Counter(topic for topic, _ in events)
        assert [events[0][0], events[1][0]] == ["orders/create", "orders/paid"]
        assert counts["orders/create"] == counts["orders/paid"] == counts["orders/fulfilled"] == 1
        assert counts["fulfillments/create"] == 1
        assert counts["orders/updated"] in {1, 2}
        assert statuses in (["in_transit", "delivered"], ["in_transit", "out_for_delivery", "delivered"])
    assert delivered > 60


def test_body_ids_are_the_exact_64_bit_ids_of_their_gids(deliveries: list[dict[str, Any]]) -> None:
    checked: list[int] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            match = GID.match(str(node.get("admin_graphql_api_id", "")))
            if match and "id" in node:
                assert node["id"] == int(match.group(1))
                checked.append(node["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for delivery in deliveries[:1200]:
        walk(json.loads(delivery["body"]))
    assert len(checked) > 5000
    assert all(2**53 < value < 2**63 for value in checked)
    assert sum(float(value) != value for value in checked) > 0.9 * len(checked)  # float64 would corrupt them


def test_an_orders_deliveries_agree_on_ids_customer_and_line_items(
        parsed: list[tuple[str, dict[str, Any]]]) -> None:
    complete = 0
    for key, events in by_order(parsed).items():
        orders = [body for topic, body in events if topic in ORDER_TOPICS]
        if not orders or events[0][0] != "orders/create":
            continue
        complete += 1
        first = orders[0]
        items = {item["id"]: item["price"] for item in first["line_items"]}
        assert all(o["id"] == key and o["email"] == first["email"] for o in orders)
        assert all(o["customer"]["id"] == first["customer"]["id"] for o in orders)
        assert all({i["id"]: i["price"] for i in o["line_items"]} == items for o in orders)
        assert [o["updated_at"] for o in orders] == sorted(o["updated_at"] for o in orders)
        check_followers(events, first, items)
    assert complete > 150


def check_followers(events: list[tuple[str, dict[str, Any]]], order: dict[str, Any],
                    items: dict[int, str]) -> None:
    fulfillments = {body["id"] for topic, body in events if topic == "fulfillments/create"}
    for topic, body in events:
        if topic == "fulfillments/create":
            assert body["email"] == order["email"]
            assert {i["id"]: i["price"] for i in body["line_items"]} == items
        elif topic == "fulfillment_events/create" and fulfillments:
            assert body["fulfillment_id"] in fulfillments
        elif topic == "returns/request":
            assert 1 <= len(body["return_line_items"]) == body["total_return_line_items"] <= 2
            for line in body["return_line_items"]:
                assert line["return_reason"] in REASONS
                assert line["quantity"] == 1
                assert items[line["line_item"]["id"]] == line["line_item"]["price"]
        elif topic == "refunds/create":
            lines = body["refund_line_items"]
            assert all(items[line["line_item_id"]] == f"{line['subtotal']:.2f}" for line in lines)
        elif topic == "disputes/create":
            assert body["amount"] == order["total_price"]


def test_payloads_keep_their_real_sizes(deliveries: list[dict[str, Any]]) -> None:
    sizes = defaultdict(list)
    for d in deliveries:
        sizes[topic_of(d)].append(len(d["body"].encode()))
    assert all(10_000 < size < 12_000 for size in sizes["orders/create"])
    assert all(5_000 < size < 6_500 for size in sizes["fulfillments/create"])
    assert all(size < 1_000 for size in sizes["fulfillment_events/create"])
