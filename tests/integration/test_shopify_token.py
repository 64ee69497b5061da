"""Admin API tokens by the client credentials grant (ADR 0036), against the stand-in's token endpoint.

Every test runs twice: over real sockets, and in memory through the stand-in's transport. The stand-in and
the connector share a manual clock, so a day-long token's renewal takes no time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_token import MARGIN, ClientCredentials, token_url
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.shopify_oauth import Grant
from opsdesk.testing import ManualClock
from tests.integration._servers import outbox_action
from tests.samples import SHOP

CLIENT_ID, SECRET = "0f1e2d3c4b5a", "shpss_the-apps-client-secret"
CREDENTIALS = ClientCredentials(CLIENT_ID, SECRET, "OPSDESK_SHOPIFY_CLIENT_ID", "OPSDESK_SHOPIFY_SECRET")
DAY = 86399


@pytest.fixture(params=["socket", "memory"])
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(wire: str, clock: ManualClock) -> Iterator[FakeShopifyAdmin]:
    server = FakeShopifyAdmin(clock=clock)
    server.oauth.add_client(CLIENT_ID, SECRET, life=DAY)
    if wire == "socket":
        server.start()
    yield server
    server.stop()


def connect(fake: FakeShopifyAdmin, wire: str, clock: ManualClock,
            credentials: ClientCredentials = CREDENTIALS) -> ShopifyAdmin:
    transport = fake.transport() if wire == "memory" else None
    return ShopifyAdmin(fake.url_for, lambda shop: "", timeout=2.0, transport=transport, clock=clock,
                        credentials_for=lambda shop: credentials)


def tag(n: int = 1) -> OutboxAction:
    return outbox_action("add_tags", 1000 + n, {"tags": ["vip"]}, decision=f"decision-{n}")


def test_the_first_call_gets_a_token_by_the_grant_and_later_calls_reuse_it(
        fake: FakeShopifyAdmin, wire: str, clock: ManualClock) -> None:
    with connect(fake, wire, clock) as shopify:
        results = [shopify.send(tag(n)) for n in range(3)]
    assert all(isinstance(r, Delivered) for r in results), results
    assert fake.oauth.grants == [Grant(SHOP, CLIENT_ID, 200)]
    assert [c.status for c in fake.calls] == [200, 200, 200]


def test_the_token_is_renewed_shortly_before_it_expires_without_a_refused_call(
        fake: FakeShopifyAdmin, wire: str, clock: ManualClock) -> None:
    with connect(fake, wire, clock) as shopify:
        assert isinstance(shopify.send(tag(1)), Delivered)
        clock.advance(seconds=DAY - MARGIN.total_seconds() - 1)
        assert isinstance(shopify.send(tag(2)), Delivered)
        assert len(fake.oauth.grants) == 1  # not yet due
        clock.advance(seconds=2)  # inside the last five minutes: renewed before the call
        assert isinstance(shopify.send(tag(3)), Delivered)
    assert len(fake.oauth.grants) == 2
    assert [c.status for c in fake.calls] == [200, 200, 200]


def test_a_token_the_admin_api_refuses_is_renewed_once_and_only_once(
        fake: FakeShopifyAdmin, wire: str, clock: ManualClock) -> None:
    with connect(fake, wire, clock) as shopify:
        assert isinstance(shopify.send(tag(1)), Delivered)
        fake.oauth.revoke()  # as Shopify does when the token expires early or the app is reinstalled
        assert isinstance(shopify.send(tag(2)), Delivered)
        fake.oauth.revoke()
        fake.oauth.add_client(CLIENT_ID, SECRET, life=0)  # every new token is dead on arrival
        refused = shopify.send(tag(3))
    assert isinstance(refused, Rejected) and refused.reason.startswith("HTTP 401"), refused
    assert len(fake.oauth.grants) == 3
    assert [c.status for c in fake.calls] == [200, 401, 200, 401, 401]


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_grant_is_rejected_naming_the_shop_and_what_to_check_never_the_secret(
        fake: FakeShopifyAdmin, wire: str, clock: ManualClock, status: int) -> None:
    fake.oauth.refusal = status
    wrong = ClientCredentials(CLIENT_ID, "shpss_a-wrong-secret", "OPSDESK_SHOPIFY_CLIENT_ID", "MY_APP_SECRET")
    with connect(fake, wire, clock, wrong) as shopify:
        first, second = shopify.send(tag(1)), shopify.send(tag(2))
    assert isinstance(first, Rejected)
    assert first.reason.startswith(f"Shopify refused the client credentials grant for '{SHOP}' (HTTP {status}: "
                                   "invalid_client: Client authentication failed")
    assert "OPSDESK_SHOPIFY_CLIENT_ID and MY_APP_SECRET" in first.reason
    assert "shpss_a-wrong-secret" not in first.reason and "shpss_a-wrong-secret" not in repr(wrong)
    assert second == first  # remembered: one request to the token endpoint, none to the Admin API
    assert fake.oauth.grants == [Grant(SHOP, CLIENT_ID, status)]
    assert fake.calls == []


def test_unset_variables_are_named_and_nothing_is_sent(fake: FakeShopifyAdmin, wire: str,
                                                      clock: ManualClock) -> None:
    unset = ClientCredentials("", "", "OPSDESK_SHOPIFY_CLIENT_ID", "OPSDESK_SHOPIFY_SECRET")
    with connect(fake, wire, clock, unset) as shopify:
        result = shopify.send(tag())
    assert result == Rejected(f"no client credentials for '{SHOP}': OPSDESK_SHOPIFY_CLIENT_ID and "
                              "OPSDESK_SHOPIFY_SECRET not set")
    assert fake.oauth.grants == [] and fake.calls == []


def test_a_token_endpoint_that_is_down_is_retried_later_and_then_answers(
        fake: FakeShopifyAdmin, wire: str, clock: ManualClock) -> None:
    fake.oauth.down = True
    with connect(fake, wire, clock) as shopify:
        down = shopify.send(tag(1))
        fake.oauth.down = False
        up = shopify.send(tag(2))
    assert down == RetryLater(f"access token for '{SHOP}': HTTP 503")
    assert isinstance(up, Delivered)
    assert [g.status for g in fake.oauth.grants] == [503, 200]


def test_concurrent_callers_share_one_grant(fake: FakeShopifyAdmin, wire: str, clock: ManualClock) -> None:
    fake.oauth.delay = 0.2  # every caller finds no token while the first grant is in flight
    results: list[object] = []
    with connect(fake, wire, clock) as shopify:
        threads = [threading.Thread(target=lambda n=n: results.append(shopify.send(tag(n)))) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(results) == 6 and all(isinstance(r, Delivered) for r in results), results
    assert fake.oauth.grants == [Grant(SHOP, CLIENT_ID, 200)]


def test_a_static_token_never_asks_the_grant(wire: str, clock: ManualClock) -> None:
    fake = FakeShopifyAdmin(access_tokens={"shpat_static"}, clock=clock)
    if wire == "socket":
        fake.start()
    transport = fake.transport() if wire == "memory" else None
    with ShopifyAdmin(fake.url_for, lambda shop: "shpat_static", transport=transport, clock=clock) as shopify:
        assert isinstance(shopify.send(tag()), Delivered)
    fake.stop()
    assert fake.oauth.grants == []


@pytest.mark.parametrize(("graphql", "expected"), [
    ("https://a.myshopify.com/admin/api/2026-07/graphql.json", "https://a.myshopify.com/admin/oauth/access_token"),
    ("http://127.0.0.1:8081/shops/a.myshopify.com/admin/api/2026-07/graphql.json",
     "http://127.0.0.1:8081/shops/a.myshopify.com/admin/oauth/access_token"),
    ("https://proxy.example/graphql?x=1", "https://proxy.example/admin/oauth/access_token"),
])
def test_the_token_endpoint_sits_next_to_the_graphql_one(graphql: str, expected: str) -> None:
    assert token_url(graphql) == expected
