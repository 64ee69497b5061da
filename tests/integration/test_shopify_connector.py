"""The Shopify connector against the local fake Admin API: each action, each fault.

Every test that takes ``fake`` runs twice: over real sockets, and in memory through the fake's transport
(what the simulator uses, ADR 0018): the two must give the same outcomes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_errors import retry_after
from opsdesk.domain.errors import NotFound, Unavailable
from opsdesk.domain.events import RefundCreated, ShopDomain
from opsdesk.domain.money import Money
from opsdesk.domain.outbox import CredentialsRefused, Delivered, Rejected, RetryLater
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.normalise.shopify import normalise
from opsdesk.services.reconcile import dispute_payload, webhook_payload
from tests.integration._servers import TOKEN, outbox_action, refund_action
from tests.samples import SHOP, sample

CLIENT_TIMEOUT = 0.3
CODE_DISCOUNT = "gid://shopify/DiscountCodeNode/501"
AUTOMATIC_DISCOUNT = "gid://shopify/DiscountAutomaticNode/502"


@pytest.fixture(params=["socket", "memory"])
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serving(fake: FakeShopifyAdmin, wire: str) -> FakeShopifyAdmin:
    return fake if wire == "memory" else fake.start()


def connect(fake: FakeShopifyAdmin, wire: str, token: str = TOKEN) -> ShopifyAdmin:
    """A connector to ``fake`` with ``token``, over the wire of the test."""
    transport = fake.transport() if wire == "memory" else None
    return ShopifyAdmin(fake.url_for, lambda shop: token, timeout=CLIENT_TIMEOUT, transport=transport)


@pytest.fixture
def fake(wire: str) -> Iterator[FakeShopifyAdmin]:
    server = serving(FakeShopifyAdmin(access_tokens={TOKEN}), wire)
    yield server
    server.stop()


@pytest.fixture
def strict(wire: str) -> Iterator[FakeShopifyAdmin]:
    """A fake that, as Shopify itself, ignores the Idempotency-Key header (only ``@idempotent`` counts)."""
    server = serving(FakeShopifyAdmin(header_idempotency=False), wire)
    yield server
    server.stop()


@pytest.fixture
def shopify(fake: FakeShopifyAdmin, wire: str) -> Iterator[ShopifyAdmin]:
    with connect(fake, wire) as connector:
        yield connector


def mutations(fake: FakeShopifyAdmin) -> list[str]:
    return [c.operation for c in fake.calls if c.operation not in ("order", "discountNode")]


# -- refunds -----------------------------------------------------------------------------------------


def test_refund_goes_through_the_gateway_of_the_orders_sale_with_the_idempotency_key(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_order(7, gateway="paypal")
    action = refund_action(7, "25.50")

    result = shopify.send(action)

    assert result == Delivered({"refund_id": "gid://shopify/Refund/1", "order_id": "gid://shopify/Order/7",
                                "amount": "25.50", "currency": "USD"})
    [effect] = fake.effects
    assert (effect.kind, effect.key, effect.shop, effect.order_id, effect.amount) == (
        "refundCreate", action.idempotency_key, SHOP, 7, Decimal("25.50"))
    assert effect.detail["gateway"] == "paypal"
    lookup, refund = fake.calls
    assert (lookup.operation, lookup.key) == ("order", action.idempotency_key)
    assert (refund.operation, refund.key, refund.idempotent_key) == (
        "refundCreate", action.idempotency_key, action.idempotency_key)


def test_a_repeated_refund_gets_the_first_answer_and_has_one_effect(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    action = refund_action(8)

    first, second = shopify.send(action), shopify.send(action)

    assert first == second
    assert isinstance(first, Delivered)
    assert len(fake.effects) == 1
    assert mutations(fake) == ["refundCreate", "refundCreate"]


def test_a_refund_is_made_once_through_the_directive_alone(strict: FakeShopifyAdmin, wire: str) -> None:
    with connect(strict, wire) as connector:
        action = refund_action(9)
        connector.send(action)
        connector.send(action)
        assert [e.key for e in strict.effects] == [action.idempotency_key]


def test_a_refund_with_its_gateway_in_the_payload_needs_no_lookup(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    result = shopify.send(refund_action(10, gateway="manual"))

    assert isinstance(result, Delivered)
    assert [c.operation for c in fake.calls] == ["refundCreate"]
    assert fake.effects[0].detail["gateway"] == "manual"


def test_a_refund_beyond_what_was_paid_is_rejected_with_shopifys_user_error(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_order(11, total="40.00")

    result = shopify.send(refund_action(11, "40.01"))

    assert result == Rejected("refundCreate: transactions.0.amount: "
                              "Refund amount 40.01 is greater than net payment received 40.00")
    assert fake.effects == []


@pytest.mark.parametrize("amount", ["0", "-5", "ten", "NaN"])
def test_a_refund_without_a_positive_amount_is_rejected_before_any_call(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, amount: str) -> None:
    result = shopify.send(refund_action(12, amount))

    assert isinstance(result, Rejected)
    assert "refund amount" in result.reason
    assert fake.calls == []


# -- tags, notes, discounts (holds: test_shopify_holds.py) ---------------------------------------------


def test_tags_and_a_note_reach_the_order(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    tags = shopify.send(outbox_action("add_tags", 30, {"tags": "refund-review, vip,"}, decision="tags"))
    note = shopify.send(outbox_action("note", 30, {"note": "refund held for review"}, decision="note"))

    assert tags == Delivered({"order_id": "gid://shopify/Order/30", "tags": ["refund-review", "vip"]})
    assert note == Delivered({"order_id": "gid://shopify/Order/30", "note": "refund held for review"})
    order = fake.store.order(30)
    assert (order["tags"], order["note"]) == (["refund-review", "vip"], "refund held for review")


@pytest.mark.parametrize(("gid", "mutation"), [(CODE_DISCOUNT, "discountCodeDeactivate"),
                                                (AUTOMATIC_DISCOUNT, "discountAutomaticDeactivate")])
def test_a_discount_is_deactivated_with_the_mutation_for_its_kind(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, gid: str, mutation: str) -> None:
    fake.add_discount(gid)

    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": gid}))

    assert result == Delivered({"discount_id": gid, "active": False})
    assert [e.kind for e in fake.effects] == [mutation]
    assert fake.store.discount(gid)["discount"]["status"] == "EXPIRED"  # type: ignore[index]


def test_deactivating_an_unknown_discount_is_rejected(shopify: ShopifyAdmin) -> None:
    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": CODE_DISCOUNT}))

    assert result == Rejected("discountCodeDeactivate: id: Discount does not exist")


@pytest.mark.parametrize("payload", [{"discount_id": "123"}, {"discount_id": "gid://shopify/Order/1"}, {}])
def test_a_discount_id_that_is_not_a_discount_node_is_rejected_before_any_call(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, payload: dict[str, str]) -> None:
    result = shopify.send(outbox_action("deactivate_discount", None, payload))

    assert isinstance(result, Rejected)
    assert fake.calls == []


def test_discount_terms_give_value_end_combinations_limits_and_reach(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, title="SPRING25", percentage=0.25, ends_at="2026-04-01T00:00:00Z",
                      usage_limit=100, usage_count=7, combines_with=(True, False, False), codes=("SPRING25",))
    fake.add_discount(AUTOMATIC_DISCOUNT, title="5 off", percentage=None, amount=Decimal("5.00"),
                      applies_on_each_item=True, all_items=False)

    code = shopify.discount_terms(SHOP, CODE_DISCOUNT)
    automatic = shopify.discount_terms(SHOP, AUTOMATIC_DISCOUNT)

    assert code == {
        "id": CODE_DISCOUNT, "type": "DiscountCodeBasic", "title": "SPRING25", "status": "ACTIVE",
        "percentage": Decimal("0.25"), "amount": None, "currency": None, "applies_on_each_item": None,
        "applies_to_all_items": True, "ends_at": datetime(2026, 4, 1, tzinfo=UTC), "usage_limit": 100,
        "usage_count": 7, "combines_with": {"order": True, "product": False, "shipping": False},
        "codes": ["SPRING25"]}
    assert automatic == {
        "id": AUTOMATIC_DISCOUNT, "type": "DiscountAutomaticBasic", "title": "5 off", "status": "ACTIVE",
        "percentage": None, "amount": Decimal("5.00"), "currency": "USD", "applies_on_each_item": True,
        "applies_to_all_items": False, "ends_at": None, "usage_limit": None, "usage_count": 0,
        "combines_with": {"order": False, "product": False, "shipping": False}, "codes": []}


def test_discount_terms_raise_not_found_or_unavailable(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    with pytest.raises(NotFound):
        shopify.discount_terms(SHOP, CODE_DISCOUNT)
    fake.script("503")
    with pytest.raises(Unavailable, match="HTTP 503"):
        shopify.discount_terms(SHOP, CODE_DISCOUNT)


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


def test_a_discount_known_only_by_a_code_is_looked_up_by_it_then_deactivated(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, codes=("SPRING25",))

    result = shopify.send(outbox_action("deactivate_discount", None, {"discount_id": "", "code": "spring25"}))

    assert result == Delivered({"discount_id": CODE_DISCOUNT, "active": False, "code": "spring25"})
    assert [e.kind for e in fake.effects] == ["discountCodeDeactivate"]
    assert [c.operation for c in fake.calls] == ["codeDiscountNodeByCode", "discountCodeDeactivate"]


def test_a_code_no_discount_has_is_rejected_without_a_mutation(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.add_discount(CODE_DISCOUNT, codes=("SPRING25",))

    result = shopify.send(outbox_action("deactivate_discount", None, {"code": "WINTER10"}))

    assert result == Rejected(f"no code discount 'WINTER10' in {SHOP}")
    assert fake.effects == [] and [c.operation for c in fake.calls] == ["codeDiscountNodeByCode"]


# -- the reconciliation sweep's disputes query -----------------------------------------------------------

DISPUTES_SINCE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def read_pages(fetch: Callable[[str | None], object]) -> list[list[dict[str, Any]]]:
    """The nodes of every page of one query, following ``pageInfo.endCursor`` as the sweep does."""
    pages, cursor = [], None
    while True:
        page = fetch(cursor)
        assert isinstance(page, dict)
        pages.append(page["nodes"])
        cursor = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return pages


def dispute(n: int, initiated: datetime, **changes: Any) -> dict[str, Any]:
    """Shopify's ``disputes/create`` sample as dispute ``n`` on order ``n``, initiated at ``initiated``."""
    payload = sample("disputes/create")
    payload.update(id=2_850_000 + n, order_id=4_000_000 + n, initiated_at=initiated.isoformat(),
                   evidence_due_by=(initiated + timedelta(days=7)).isoformat(), **changes)
    return payload


def test_disputes_initiated_since_a_time_come_page_by_page_and_read_back_as_the_webhook(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    held = [dispute(n, DISPUTES_SINCE + timedelta(minutes=n - 2)) for n in range(7)]  # 0 and 1 are older
    held[5].update(status="won", evidence_sent_on="2026-03-03T10:00:00-05:00", finalized_on="2026-03-20T00:00:00Z")
    for payload in held:
        fake.put_dispute_payload(payload)

    pages = read_pages(lambda cursor: shopify.disputes_initiated(SHOP, DISPUTES_SINCE, cursor, 2))

    assert [len(p) for p in pages] == [2, 2, 1]  # 2..6: initiated at or after the time, none twice
    nodes = [node for p in pages for node in p]
    assert [n["legacyResourceId"] for n in nodes] == [str(2_850_000 + n) for n in range(2, 7)]
    assert nodes[0]["status"] == "UNDER_REVIEW" and nodes[0]["reasonDetails"]["reason"] == "FRAUDULENT"
    assert [c.operation for c in fake.calls] == ["shopifyPaymentsAccount"] * 3
    # Turned back into the webhook's body, each is the event Shopify's own webhook would have made.
    for node, payload in zip(nodes, held[2:], strict=True):
        ours = normalise("disputes/create", ShopDomain(SHOP), dispute_payload(node), None)
        theirs = normalise("disputes/create", ShopDomain(SHOP), payload, None)
        assert isinstance(ours, tuple) and isinstance(theirs, tuple)
        assert [e.key for e in ours] == [e.key for e in theirs]
        assert ours == theirs


def test_a_shop_without_shopify_payments_has_no_disputes(fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    fake.put_dispute_payload(dispute(1, DISPUTES_SINCE))
    fake.store.payments_account = False

    assert shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10) == {
        "nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


@pytest.mark.parametrize(("fault", "expected"), [
    ("503", RetryLater("HTTP 503")),
    ("429:7", RetryLater("HTTP 429", 7.0)),
    ("throttled", RetryLater("throttled: Throttled", 0.1)),
    ("403", CredentialsRefused('HTTP 403: {"errors": "HTTP 403"}')),
])
def test_the_disputes_query_maps_each_failure_to_retry_later_or_rejected(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin, fault: str, expected: RetryLater | Rejected) -> None:
    fake.put_dispute_payload(dispute(1, DISPUTES_SINCE))
    fake.script(fault)

    assert shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10) == expected
    page = shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)  # the retry reads the page
    assert isinstance(page, dict) and len(page["nodes"]) == 1


def test_the_disputes_query_with_a_wrong_token_or_a_lost_connection_fails_as_the_other_queries(
        fake: FakeShopifyAdmin, wire: str) -> None:
    with connect(fake, wire, token="shpat_wrong") as wrong:
        refused = wrong.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)
    assert isinstance(refused, Rejected) and "401" in refused.reason
    fake.script("reset")
    with connect(fake, wire) as shopify:
        lost = shopify.disputes_initiated(SHOP, DISPUTES_SINCE, None, 10)
    assert isinstance(lost, RetryLater)


# -- the reconciliation sweep's orders query: each order's refunds ----------------------------------------


def refunded_order(n: int, updated: datetime, *refunds: dict[str, Any]) -> dict[str, Any]:
    """Shopify's ``orders/create`` sample as order ``n``, last changed at ``updated``, with these refunds."""
    order = sample("orders/create")
    order.update(id=4_100_000 + n, updated_at=updated.isoformat(), financial_status="partially_refunded",
                 refunds=[{**r, "order_id": 4_100_000 + n} for r in refunds])
    return order


def refund(n: int, **changes: Any) -> dict[str, Any]:
    """Shopify's ``refunds/create`` sample as refund ``n`` (75.00 and 10.00 refunded through two transactions)."""
    payload = sample("refunds/create")
    payload.update(id=8_900_000 + n, **changes)
    return payload


def test_orders_updated_carry_each_orders_refunds_which_read_back_as_the_refunds_create_webhook(
        fake: FakeShopifyAdmin, shopify: ShopifyAdmin) -> None:
    no_money_moved = refund(3, transactions=[{**t, "status": "failure"} for t in refund(0)["transactions"]])
    held = [refunded_order(0, DISPUTES_SINCE - timedelta(minutes=1), refund(0)),  # changed before the time
            refunded_order(1, DISPUTES_SINCE, refund(1), refund(2, note=None)),
            refunded_order(2, DISPUTES_SINCE + timedelta(minutes=1)),
            refunded_order(3, DISPUTES_SINCE + timedelta(minutes=2), no_money_moved)]
    for payload in held:
        fake.put_order_payload(payload)

    pages = read_pages(lambda cursor: shopify.orders_updated(SHOP, DISPUTES_SINCE, cursor, 2))

    assert [[n["legacyResourceId"] for n in p] for p in pages] == [["4100001", "4100002"], ["4100003"]]
    listed = [node for p in pages for node in p]
    assert [[r["legacyResourceId"] for r in n["refunds"]] for n in listed] == [["8900001", "8900002"], [], ["8900003"]]
    nodes = [shopify.order(SHOP, n["id"]) for n in listed]  # the listing carries ids; the order, the money
    assert [[r["legacyResourceId"] for r in n["refunds"]] for n in nodes] == [["8900001", "8900002"], [], ["8900003"]]
    first = nodes[0]["refunds"][0]
    assert (first["createdAt"], first["note"]) == ("2022-01-01T00:00:00Z", "Things were damaged")
    assert [(t["kind"], t["status"], t["amountSet"]["shopMoney"]) for t in first["transactions"]["nodes"]] == [
        ("REFUND", "SUCCESS", {"amount": "75.00", "currencyCode": "USD"}),
        ("REFUND", "SUCCESS", {"amount": "10.00", "currencyCode": "USD"})]
    # each refund of lines has its shipping lines read apart (ADR 0055)
    assert [c.operation for c in fake.calls] == ["orders"] * 2 + ["order", "refund", "refund", "order", "order",
                                                                   "refund"]
    # Turned back into the webhook's body, each refund is the event Shopify's own refunds/create makes of it.
    ours = [normalise("refunds/create", ShopDomain(SHOP), r, None)
            for node in nodes for r in webhook_payload(node)["refunds"]]
    theirs = [normalise("refunds/create", ShopDomain(SHOP), r, None) for o in held[1:] for r in o["refunds"]]
    assert ours == theirs
    amounts = [(e.refund_id, e.order, e.amount) for found in ours for e in found if isinstance(e, RefundCreated)]
    assert amounts == [(8_900_001, 4_100_001, Money(Decimal("85.00"), "USD")),
                       (8_900_002, 4_100_001, Money(Decimal("85.00"), "USD")),
                       (8_900_003, 4_100_003, Money(Decimal("414.95"), "USD"))]  # no money moved: the lines
