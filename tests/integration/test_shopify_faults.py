"""The Shopify connector against the local fake Admin API: each fault, over real sockets and in memory."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_errors import retry_after
from opsdesk.domain.outbox import CredentialsRefused, Delivered, Rejected, RetryLater
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration._servers import TOKEN, outbox_action, refund_action
from tests.integration.shopify_harness import CLIENT_TIMEOUT, connect, fake, shopify, wire
from tests.samples import SHOP

__all__ = ["fake", "shopify", "wire"]  # the fixtures: each runs over both wires


# -- faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "expected"), [
    ("500", RetryLater("HTTP 500")),
    ("502", RetryLater("HTTP 502")),
    ("503:12", RetryLater("HTTP 503", 12.0)),
    ("429:7", RetryLater("HTTP 429", 7.0)),
    ("408", RetryLater("HTTP 408")),
    ("throttled", RetryLater("throttled: Throttled", 0.1)),
    ("400", Rejected('HTTP 400: {"errors": "HTTP 400"}')),
    ("401", CredentialsRefused('HTTP 401: {"errors": "HTTP 401"}')),  # the shop's, not the call's (ADR 0067)
    ("403", CredentialsRefused('HTTP 403: {"errors": "HTTP 403"}')),
    ("404", Rejected('HTTP 404: {"errors": "HTTP 404"}')),
    ("422", Rejected('HTTP 422: {"errors": "HTTP 422"}')),
    ("302", Rejected('HTTP 302: {"errors": "HTTP 302"}')),
])
def test_each_http_answer_maps_to_its_send_result(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, fault: str, expected: RetryLater | Rejected) -> None:
    fake.script(fault)

    assert shopify.send(outbox_action("note", 40, {"note": "x"})) == expected
    assert fake.effects == []


def test_a_retry_after_given_as_an_http_date_is_read_as_seconds(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("429-date:30")

    result = shopify.send(outbox_action("note", 41, {"note": "x"}))

    assert isinstance(result, RetryLater)
    assert result.retry_after is not None
    assert 29 <= result.retry_after <= 31


def test_a_reset_connection_is_retry_later_and_the_retry_applies_once(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("reset")
    action = refund_action(42, gateway="manual")

    failed, retried = shopify.send(action), shopify.send(action)

    assert isinstance(failed, RetryLater)
    assert "reset" in failed.reason.lower()
    assert isinstance(retried, Delivered)
    assert len(fake.effects) == 1


def test_a_server_that_hangs_past_the_client_timeout_is_retry_later_within_the_timeout(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("hang:5")
    started = time.monotonic()

    result = shopify.send(refund_action(43, gateway="manual"))

    assert result == RetryLater("timed out (ReadTimeout)")
    # it gave up, not the server: well before the 5 s hang ends (the margin is for a loaded machine: two test
    # workers on two cores)
    assert time.monotonic() - started < CLIENT_TIMEOUT + 2.0
    assert fake.effects == []


def test_a_connection_closed_without_an_answer_is_retry_later(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("hang:0.05")  # shorter than the client's timeout: the server closes the connection first

    result = shopify.send(refund_action(45, gateway="manual"))

    assert result == RetryLater("RemoteProtocolError: Server disconnected without sending a response.")
    assert fake.effects == []


def test_an_answer_lost_to_a_timeout_then_retried_has_one_effect(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.script("slow:0.6")  # the fake applies the refund, but only after the client has given up
    action = refund_action(44, gateway="manual")

    assert isinstance(shopify.send(action), RetryLater)
    deadline = time.monotonic() + 3
    while not fake.effects and time.monotonic() < deadline:
        time.sleep(0.05)
    assert isinstance(shopify.send(action), Delivered)
    assert [e.key for e in fake.effects] == [action.idempotency_key]


def test_a_refused_connection_is_retry_later() -> None:
    fake = FakeShopifyAdmin().start()
    url = fake.url
    fake.stop()
    with ShopifyAdmin(lambda shop: url, lambda shop: TOKEN, timeout=CLIENT_TIMEOUT) as connector:
        result = connector.send(outbox_action("note", 45, {"note": "x"}))
    assert isinstance(result, RetryLater)
    assert result.reason.startswith("ConnectError")


def test_a_wrong_or_missing_token_is_rejected(fake: FakeShopifyAdmin, wire: str) -> None:
    action = outbox_action("note", 46, {"note": "x"})
    with connect(fake, wire, "shpat_wrong") as wrong, connect(fake, wire, "") as missing:
        assert isinstance(wrong.send(action), Rejected)
        assert missing.send(action) == Rejected(f"no Admin API access token for {SHOP!r}")
    assert len(fake.calls) == 1


def test_an_action_shopify_cannot_do_is_rejected(shopify: ShopifyAdmin) -> None:
    assert shopify.send(outbox_action("email", 47, {})) == Rejected("shopify cannot do 'email'")


@pytest.mark.parametrize(("header", "expected"), [
    ("120", 120.0), (" 0 ", 0.0), ("Wed, 04 Mar 2026 10:02:00 GMT", 120.0),
    ("Wed, 04 Mar 2026 09:59:00 GMT", 0.0), ("soon", None), ("", None), (None, None),
])
def test_retry_after_reads_delta_seconds_and_http_dates(header: str | None, expected: float | None) -> None:
    assert retry_after(header, datetime(2026, 3, 4, 10, 0, tzinfo=UTC)) == expected


def test_in_memory_the_fake_serves_no_socket_and_answers_only_its_own_urls() -> None:
    fake = FakeShopifyAdmin(access_tokens={TOKEN})  # not started
    transport = fake.transport()
    action = outbox_action("check_payment", 48, {})
    with ShopifyAdmin(fake.url_for, lambda shop: TOKEN, transport=transport) as in_memory, \
            ShopifyAdmin(lambda shop: "http://127.0.0.1:9/admin/api/graphql.json", lambda shop: TOKEN,
                         transport=transport) as elsewhere:
        assert isinstance(in_memory.send(action), Delivered)
        refused = elsewhere.send(action)
    assert isinstance(refused, RetryLater)
    assert refused.reason.startswith("ConnectError")
    assert [(c.shop, c.operation, c.key, c.status) for c in fake.calls] == [
        (SHOP, "order", action.idempotency_key, 200)]
    assert not any(t.name == "fake-shopify" for t in threading.enumerate())


def test_a_cookie_set_by_the_api_is_not_sent_back() -> None:
    # The Admin API authenticates each call with its token header; a cookie has nothing to carry, and the
    # connector keeps none (nor pays for a jar on every answer).
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Cookie"))
        body = {"data": {"order": {"id": "gid://shopify/Order/49", "transactions": []}}}
        return httpx.Response(200, json=body, headers={"Set-Cookie": "session=abc; Path=/"})

    with ShopifyAdmin(lambda shop: "https://shop.example/admin/api/2026-07/graphql.json", lambda shop: TOKEN,
                      transport=httpx.MockTransport(answer)) as connector:
        for _ in range(2):
            assert isinstance(connector.send(outbox_action("check_payment", 49, {})), Delivered)
    assert seen == [None, None]
