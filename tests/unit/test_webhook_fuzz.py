"""Reliability test 14, webhook parsing: whatever a signed delivery carries, only documented outcomes.

``test_normalise_properties`` mutates one sample per parser. This covers what it leaves out: every
handled topic (Shopify's and the desk's internal ``opsdesk/*`` ones), payloads built from the field
names the parsers read with values of any JSON type, and raw bytes through ``verify`` (the intake's
parser of headers and body). The documented outcomes:

- ``verify``: a ``RawDelivery`` or a ``Refused`` with a 4xx status; it never raises.
- ``normalise``: a tuple of UTC-dated ``StoreEvent`` for a handled topic (``Ignored`` for the others),
  or ``InvalidPayload`` naming the topic; no other exception type.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import ShopDomain, StoreEvent
from opsdesk.normalise import Ignored, normalise
from opsdesk.normalise.shopify import HANDLED_TOPICS, INTERNAL_TOPICS
from opsdesk.services.intake import RawDelivery, Refused, verify
from opsdesk.testing import sign
from tests.unit.test_normalise_properties import SAMPLES, json_values, mutated_payloads

SHOP = ShopDomain("example.myshopify.com")
SECRET = "fuzz-secret"
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
TOPICS = sorted(HANDLED_TOPICS | set(INTERNAL_TOPICS))
EXAMPLES = 80


def has_sample(topic: str) -> bool:
    directory, _, action = topic.partition("/")
    return (SAMPLES / directory / f"{action}.json").exists()


@cache
def field_names() -> tuple[str, ...]:
    """Every key of every sample payload, plus the internal signals' fields: what the parsers look up."""
    found = {"skus", "available", "cause", "gateways", "at", "order_id", "amount", "currency", "pending_since"}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(SAMPLES.rglob("*.json")):
        walk(json.loads(path.read_text())["response"])
    return tuple(sorted(found))


keyed_objects = st.recursive(
    json_values,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(field_names()) | st.text(max_size=6), children, max_size=8)
    ),
    max_leaves=24,
)
trigger_times = st.sampled_from(
    [None, NOW, datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 7, 1, 12)]
)


def payloads_for(topic: str) -> st.SearchStrategy[Any]:
    found = [keyed_objects, json_values]
    if has_sample(topic):
        found.insert(0, mutated_payloads(topic))
    return st.one_of(found)


def documented_outcome(topic: str, payload: Any, triggered_at: datetime | None) -> None:
    """``normalise`` gives UTC events (``Ignored`` for a topic it does not handle) or ``InvalidPayload``."""
    try:
        result = normalise(topic, SHOP, payload, triggered_at)
    except InvalidPayload as exc:
        message = str(exc)
        assert message, "an InvalidPayload says what is wrong"
        return
    if topic not in TOPICS:
        assert isinstance(result, Ignored)
        return
    assert isinstance(result, tuple), result
    for event in result:
        assert isinstance(event, StoreEvent)
        assert event.occurred_at.tzinfo is UTC


def test_every_handled_topic_is_fuzzed() -> None:
    assert len(TOPICS) >= 30
    assert set(INTERNAL_TOPICS) <= set(TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
@settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(data=st.data(), triggered_at=trigger_times)
def test_any_payload_of_a_handled_topic_gives_events_or_invalid_payload(
    topic: str, data: st.DataObject, triggered_at: datetime | None
) -> None:
    documented_outcome(topic, data.draw(payloads_for(topic)), triggered_at)


def _bodies() -> st.SearchStrategy[bytes]:
    text_json = keyed_objects.map(lambda v: json.dumps(v, allow_nan=True).encode())
    return st.one_of(
        st.binary(max_size=200),
        text_json,
        text_json.flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),  # cut short
        text_json.map(lambda b: b"\xef\xbb\xbf" + b),  # a byte-order mark
        st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"", b"null", b"[]", b"{}", b'{"id": 1e400}', b'{"id": 18446744073709551616}', b"\x00"]),
    )


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@settings(
    max_examples=EXAMPLES * 4, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(
    body=_bodies(),
    topic=st.sampled_from(TOPICS) | header_text,
    triggered_at=st.none() | header_text | st.sampled_from(["2026-07-01T12:00:00Z", "2026-07-01T12:00:00", "0"]),
    webhook_id=header_text,
    signed=st.booleans(),
)
def test_any_signed_body_is_accepted_or_refused_with_a_4xx_never_an_exception(
    body: bytes, topic: str, triggered_at: str | None, webhook_id: str, signed: bool
) -> None:
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(body, SECRET) if signed else "bm90IGEgc2lnbmF0dXJl",
        "x-shopify-shop-domain": SHOP,
        "x-shopify-webhook-id": webhook_id,
    }
    if triggered_at is not None:
        headers["x-shopify-triggered-at"] = triggered_at
    verdict = verify(
        headers,
        body,
        secrets_for=lambda _shop: (SECRET,),
        is_known=lambda _shop: True,
        max_bytes=10_000,
        now=NOW,
    )
    if isinstance(verdict, Refused):
        assert 400 <= verdict.status < 500, verdict
        assert verdict.reason
        return
    assert isinstance(verdict, RawDelivery)
    assert signed
    payload = verdict.payload if verdict.payload is not None else orjson.loads(verdict.body)
    documented_outcome(verdict.topic, payload, verdict.triggered_at)
