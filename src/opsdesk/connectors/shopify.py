"""Shopify Admin GraphQL: refunds, holds, tags, notes, discount pauses, return approvals, payment re-checks.

Every call carries ``Idempotency-Key: <action key>``, and ``refundCreate`` carries Shopify's
``@idempotent(key:)`` directive (API 2026-01+, required from 2026-04), so a refund retried after a lost
answer is made once. The other mutations are made safe to repeat here: a hold goes under a handle that
says why and skips fulfilment orders that already carry it, a release names the ids of the desk's holds it
means and finds nothing left to release (``shopify_holds``), adding a tag twice or setting the same note
twice changes nothing. A discount known only by a code it is redeemed with is looked up by that code
(``codeDiscountNodeByCode``) before it is deactivated. Refunds are ``shopify_refunds``, discount pauses and
terms ``shopify_discounts``, tags, notes, return approvals and payment re-checks ``shopify_orders``; this module
is the connector and its transport.

It also answers the reconciliation sweep's queries (``shopify_reads``), which pace themselves: before sending
one, the connector waits (with its injected sleeper) until the shop's cost bucket, as the last answer left it
and refilled since, holds the query's requested cost plus a reserve for the desk's actions
(``shopify_bucket``). Actions never wait.

Outcomes: 2xx without errors -> Delivered; ``userErrors`` -> Rejected; ``THROTTLED``, 429, 408, 5xx,
timeouts and broken connections -> RetryLater (with the provider's wait when it gives one); other 4xx and
3xx (redirects are never followed) -> Rejected (``shopify_errors``); a 401, or a 403 that names no access
scope, -> ``CredentialsRefused`` (a Rejected: the shop's credentials, not the call; ADR 0067). No httpx exception
leaves this module.

A shop calls with its static token (``token_for``), or, when ``credentials_for`` gives it a Dev Dashboard app's
client credentials, with tokens from Shopify's client credentials grant, renewed before they expire and once
after a 401 (``shopify_token``, ADR 0036).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import Any, Self

import httpx

from opsdesk.clock import SystemClock
from opsdesk.connectors.http import ApiClient
from opsdesk.connectors.shopify_bucket import DEFAULT_RESERVE, CostBuckets
from opsdesk.connectors.shopify_discounts import Discounts
from opsdesk.connectors.shopify_errors import (
    credentials_refused,
    error_message,
    graphql_errors,
    retry_after,
    server_time,
)
from opsdesk.connectors.shopify_holds import FulfilmentHolds
from opsdesk.connectors.shopify_items import read_item
from opsdesk.connectors.shopify_orders import OrderActions
from opsdesk.connectors.shopify_reads import Reply, SweepReads
from opsdesk.connectors.shopify_refunds import Refunds
from opsdesk.connectors.shopify_token import AccessTokens, ClientCredentials, GrantOutcome, token_url
from opsdesk.connectors.shopify_webhooks import WebhookSubscriptions
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.outbox import CredentialsRefused, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Clock

JSON = dict[str, Any]


class ShopifyAdmin:
    """Sends outbox actions to the Shopify Admin GraphQL API of each shop."""

    provider = "shopify"
    #: How many of an order's refunds and fulfilments ``orders_updated`` lists (an order with that many may
    #: have more: only ``order`` reads them all).
    listed = SweepReads.listed

    def __init__(self, base_url_for: Callable[[str], str], token_for: Callable[[str], str], *,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep,
                 reserve: float = DEFAULT_RESERVE,
                 credentials_for: Callable[[str], ClientCredentials | None] = lambda shop: None,
                 on_grant: Callable[[GrantOutcome], None] = lambda outcome: None) -> None:
        self._base_url_for = base_url_for
        self._token_for = token_for  # a shop's static token, unless it has client credentials
        self._credentials_for = credentials_for
        self._on_grant = on_grant  # each client credentials grant's outcome, for the metrics
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._buckets = CostBuckets(reserve)
        # The reconciliation sweep's queries, paced by the buckets every answer here keeps up to date.
        self._reads = SweepReads(self._execute, self._buckets, self._clock, sleep)
        self._holds = FulfilmentHolds(self._execute, self._mutate)
        self._refunds = Refunds(self._execute, self._mutate)
        self._discounts = Discounts(self._execute, self._mutate)
        self._orders = OrderActions(self._execute, self._mutate)
        self._timeout = timeout
        # Redirects are never followed (ApiClient): a 3xx from an Admin API endpoint is a misconfiguration,
        # and following it would send the access token wherever it points.
        self._client = ApiClient(timeout=timeout, transport=transport)
        # Tokens from the client credentials grant, at the token endpoint next to each shop's GraphQL one.
        self._tokens = AccessTokens(self._client, self._clock, lambda shop: token_url(base_url_for(shop)), on_grant)
        self._urls: dict[str, httpx.URL] = {}  # each endpoint parsed once
        self._handlers: dict[str, Callable[[OutboxAction], SendResult]] = {
            "refund": self._refunds.refund, "hold_fulfillment": self._holds.hold, "release_hold": self._holds.release,
            "add_tags": self._orders.add_tags, "note": self._orders.note,
            "deactivate_discount": self._discounts.deactivate,
            "approve_return": self._orders.approve_return, "check_payment": self._orders.check_payment,
            "read_inventory_item": partial(read_item, self._execute),
        }

    def with_transport(self, transport: httpx.BaseTransport) -> ShopifyAdmin:
        """The same shops, credentials, timeout, clock, sleeper, reserve and grant hook, the requests carried by
        ``transport``."""
        return ShopifyAdmin(self._base_url_for, self._token_for, timeout=self._timeout, transport=transport,
                            clock=self._clock, sleep=self._sleep, reserve=self._buckets.reserve,
                            credentials_for=self._credentials_for, on_grant=self._on_grant)

    def pacing_with(self, sleep: Callable[[float], None]) -> ShopifyAdmin:
        """This connector (its client and cost buckets shared), its sweep reads waiting with ``sleep``: the
        worker's sleeper wakes when it is stopped, so that a sweep waiting for a shop's bucket does not hold
        up shutting down."""
        paced = copy.copy(self)
        paced._sleep = sleep
        paced._reads = SweepReads(self._execute, self._buckets, self._clock, sleep)
        return paced

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, action: OutboxAction) -> SendResult:
        handler = self._handlers.get(action.kind)
        if handler is None:
            return Rejected(f"shopify cannot do {action.kind!r}")
        try:
            return handler(action)
        except InvalidPayload as exc:
            return Rejected(str(exc))

    def discount_terms(self, shop: str, discount_gid: str) -> JSON:
        """The discount's value, end, combinations, usage limit and reach; raises NotFound or Unavailable."""
        return self._discounts.terms(shop, discount_gid)

    def orders_updated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the orders updated at or after ``since`` (``SweepReads.orders_updated``)."""
        return self._reads.orders_updated(shop, since, after, first)

    def order(self, shop: str, order_gid: str) -> Reply:
        """The whole order, every connection followed to its end (``SweepReads.order``)."""
        return self._reads.order(shop, order_gid)

    def disputes_initiated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the disputes initiated at or after ``since`` (``SweepReads.disputes_initiated``)."""
        return self._reads.disputes_initiated(shop, since, after, first)

    def fulfillment_events(self, shop: str, fulfillment_gid: str) -> Reply:
        """A fulfilment's carrier events, oldest first (``SweepReads.fulfillment_events``)."""
        return self._reads.fulfillment_events(shop, fulfillment_gid)

    def token_problem(self, shop: str) -> str | None:
        """What stops the connector having an Admin API token for ``shop`` now (asking the grant for one when
        the shop has client credentials and no token in hand); None when it has one."""
        try:
            token = self._token(shop, self._credentials_for(shop))
        except LookupError as exc:
            return f"shop {shop!r} is not configured: {exc}"
        return None if isinstance(token, str) else token.reason

    def webhook_subscriptions(self, api_version: str) -> WebhookSubscriptions:
        """The shops' webhook subscriptions through this connector, in ``api_version``'s shapes (ADR 0038)."""
        return WebhookSubscriptions(self._execute, api_version)

    def paced(self, shop: str) -> float:
        """Seconds the sweep's reads have waited so far for the shop's cost bucket, before sending."""
        return self._reads.paced(shop)

    # -- transport -----------------------------------------------------------------------------------

    def _mutate(self, action: OutboxAction, field: str, query: str, variables: JSON,
                done_codes: frozenset[str] = frozenset()) -> Reply:
        """Run one mutation; its payload, or Rejected with the userErrors (unless they all mean 'done')."""
        reply = self._execute(action.shop, query, variables, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        payload = reply.get(field)
        if not isinstance(payload, dict):
            return Rejected(f"{field} answered without a payload")
        errors = [e for e in payload.get("userErrors") or [] if e.get("code") not in done_codes]
        if errors:
            return Rejected(f"{field}: " + "; ".join(error_message(e) for e in errors))
        return payload

    def _execute(self, shop: str, query: str, variables: JSON, key: str | None) -> Reply:
        """Send one query; a token from the grant that the Admin API refuses (401) is renewed once."""
        try:
            url, credentials = self._base_url_for(shop), self._credentials_for(shop)
            token = self._token(shop, credentials)
        except LookupError as exc:
            return Rejected(f"shop {shop!r} is not configured: {exc}")
        if not isinstance(token, str):
            return token
        body = {"query": query, "variables": variables}
        response = self._post(shop, url, token, body, key)
        if credentials is not None and isinstance(response, httpx.Response) and response.status_code == 401:
            self._tokens.refused(shop, token)
            token = self._tokens.token(shop, credentials)
            if not isinstance(token, str):
                return token
            response = self._post(shop, url, token, body, key)
        return self._reply(response, shop, query, variables) if isinstance(response, httpx.Response) else response

    def _token(self, shop: str, credentials: ClientCredentials | None) -> str | Rejected | RetryLater:
        """The shop's static token, or its token from the grant (``shopify_token``)."""
        token = self._token_for(shop) if credentials is None else self._tokens.token(shop, credentials)
        return Rejected(f"no Admin API access token for {shop!r}") if token == "" else token

    def _post(self, shop: str, url: str, token: str, body: JSON, key: str | None
              ) -> httpx.Response | Rejected | RetryLater:
        headers = {"X-Shopify-Access-Token": token, **({"Idempotency-Key": key} if key else {})}
        try:
            parsed = self._urls.get(url)
            if parsed is None:
                parsed = self._urls[url] = httpx.URL(url)
            return self._client.post(parsed, json=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Rejected(f"bad Admin API URL for {shop!r}: {exc}")
        except httpx.TimeoutException as exc:
            return RetryLater(f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}")

    def _reply(self, response: httpx.Response, shop: str, query: str, variables: JSON) -> Reply:
        status = response.status_code
        if status in (408, 429) or status >= 500:
            now = server_time(response) or self._clock.now()
            return RetryLater(f"HTTP {status}", retry_after(response.headers.get("Retry-After"), now))
        if credentials_refused(status, response.text):  # not this call's fault: the shop's actions wait (ADR 0067)
            return CredentialsRefused(f"HTTP {status}: {response.text[:200]}")
        if not 200 <= status < 300:
            return Rejected(f"HTTP {status}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            return RetryLater(f"HTTP {status} with a body that is not JSON")
        if not isinstance(body, dict):
            return RetryLater(f"HTTP {status} with a body that is not a JSON object")
        self._buckets.observe(shop, query, variables.get("first"), body, self._clock.now())
        if body.get("errors"):
            return graphql_errors(body)
        data = body.get("data")
        return data if isinstance(data, dict) else RetryLater(f"HTTP {status} without data")
