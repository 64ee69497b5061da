"""Intake's CPU work done ahead (in the store's process): the verdict and events the desk would reach."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
import pytest

from opsdesk.normalise.shopify import Ignored
from opsdesk.services.ahead import Ahead, accepted
from opsdesk.services.intake import Refused, lower_headers, verify
from opsdesk.services.pipeline_events import normalised
from opsdesk.simulator import frames
from opsdesk.simulator.store import Store
from opsdesk.storage.bodies import pack, unpack
from opsdesk.testing import sign
from tests.samples import SHOP, delivery, sample
from tests.unit.test_simulator import SECRET, small

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LIMIT = 1 << 20


def at_the_desk(headers: dict[str, str], body: bytes, shop: str, known: bool = True) -> Any:
    """What the desk works out itself: ``verify`` at ``NOW``, then the events of what it accepted."""
    verdict = verify(
        lower_headers(headers),
        body,
        secrets_for=lambda s: (SECRET,) if s == shop else (),
        is_known=lambda s: known and s == shop,
        max_bytes=LIMIT,
        now=NOW,
    )
    return verdict if isinstance(verdict, Refused) else (verdict, normalised(verdict, verdict.payload))


def ahead_of_the_desk(checks: Ahead, headers: dict[str, str], body: bytes) -> Any:
    """The same worked out by ``checks`` in another process (pickled both ways as in the frames), at the desk."""
    checked = pickle.loads(frames.dumps(pickle.loads(pickle.dumps(checks)).check(headers, body)))
    return checked if checked is None or isinstance(checked, Refused) else accepted(checked, body, NOW)


def test_a_simulated_days_deliveries_get_the_verdict_and_events_the_desk_would_give_them() -> None:
    plan = small()
    checks = Ahead(plan.shop, (SECRET,), True, LIMIT)
    deliveries = list(islice(Store(plan, SECRET), 400))
    assert len({d.topic for d in deliveries}) >= 5
    for d in deliveries:
        got, expected = ahead_of_the_desk(checks, d.headers, d.body), at_the_desk(d.headers, d.body, plan.shop)
        assert got == expected
        raw, _ = got
        assert raw.received_at == NOW and raw.payload is None  # the body is not carried back parsed


def test_with_storages_packing_a_delivery_carries_its_body_packed_as_storage_would_pack_it() -> None:
    plan = small()
    checks = Ahead(plan.shop, (SECRET,), True, LIMIT, pack)  # pickled with the function, by name
    for d in islice(Store(plan, SECRET), 200):
        raw, _ = ahead_of_the_desk(checks, d.headers, d.body)
        assert raw.packed == pack(d.body) and unpack(raw.packed) == d.body
    headers, body = signed("orders/create", sample("orders/create"), secret="other")
    assert isinstance(ahead_of_the_desk(checks, headers, body), Refused)  # a refused body is not packed


def signed(topic: str, payload: Any, *, secret: str = SECRET, shop: str = SHOP) -> tuple[dict[str, str], bytes]:
    recorded = delivery(topic, payload, "w-1", shop=shop, secret=secret)
    return recorded["headers"], recorded["body"].encode()


@pytest.mark.parametrize(
    "case",
    ["wrong secret", "reserved topic", "not json", "over the limit", "unknown topic", "unknown shop"],
)
def test_what_the_desk_refuses_holds_or_ignores_is_refused_held_or_ignored_ahead(case: str) -> None:
    secret = "other" if case == "wrong secret" else SECRET
    headers, body = signed("orders/create", sample("orders/create"), secret=secret)
    if case == "reserved topic":
        headers["X-Shopify-Topic"] = "opsdesk/timer"
    elif case == "not json":
        body = b"{not json"
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET)
    elif case == "over the limit":
        body = orjson.dumps({"pad": "x" * LIMIT})
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET)
    elif case == "unknown topic":
        headers["X-Shopify-Topic"] = "collections/create"
    known = case != "unknown shop"
    expected = at_the_desk(headers, body, SHOP, known=known)
    assert ahead_of_the_desk(Ahead(SHOP, (SECRET,), known, LIMIT), headers, body) == expected
    if case == "unknown shop":
        assert expected[1] == "held"
    elif case == "unknown topic":
        assert isinstance(expected[1], Ignored)
    else:
        assert isinstance(expected, Refused)


def test_a_delivery_from_another_shop_is_left_to_the_desk() -> None:
    headers, body = signed("orders/create", sample("orders/create"), shop="other.myshopify.com")
    assert Ahead(SHOP, (SECRET,), True, LIMIT).check(headers, body) is None
    # the shop is matched as the desk matches it: in any letter case
    headers, body = signed("orders/create", sample("orders/create"), shop=SHOP.upper())
    assert Ahead(SHOP, (SECRET,), True, LIMIT).check(headers, body) is not None
