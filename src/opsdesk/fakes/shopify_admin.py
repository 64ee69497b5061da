"""A local Shopify Admin GraphQL server with scripted and random faults, for tests, the demo and benchmarks.

It answers the operations ``opsdesk.connectors.shopify`` sends (refundCreate, fulfillmentOrderHold (several
holds on a fulfilment order, each with an id and a handle), fulfillmentOrderReleaseHold (of the ``holdIds``),
tagsAdd, orderUpdate, discount(Code|Automatic)Deactivate, returnApproveRequest, and the order, orders (from
``put_order_payload``, with their fulfilments and refunds, and their returns from ``put_return_payload``),
shopifyPaymentsAccount's disputes (from ``put_dispute_payload``), return, discountNode and
codeDiscountNodeByCode queries) with Shopify-shaped bodies.
It also answers Shopify's client credentials grant at ``…/admin/oauth/access_token`` (``oauth``, in
``shopify_oauth``): once an app is registered there, only its unexpired tokens (and the ``access_tokens``) pass.
It reads the operation's root field and its variables (``shopify_request``); it is not a GraphQL engine. This
module is the HTTP application (it answers each request, faults included); what a test sets and reads (the
faults, the record of calls and effects, the shop's data) is in ``shopify_admin_controls``, the reading of a
request and the record of a call in ``shopify_request``; the shop's data and operations are in ``shopify_store``
(its resources in ``shopify_resources``, the orders, refunds, returns and disputes read back as GraphQL nodes in
``shopify_graphql``), the cost limit and the leaky bucket in ``shopify_bucket``, the faults in
``shopify_faults`` and the socket side in ``shopify_server``. Every query is priced as Shopify prices it
(``opsdesk.fakes.query_cost``): one whose requested cost is over 1,000 points is refused with
``MAX_COST_EXCEEDED`` and nothing else happens; every answer carries ``extensions.cost`` (requested and actual
cost, and the throttle bucket). With ``bucket=(maximum, restore_rate)`` the bucket is enforced as Shopify's
leaky bucket (a query whose requested cost is more than what is left gets ``THROTTLED``); without, it is
reported full. The bucket refills at ``restore_rate`` points a second of ``clock`` (the wall clock's monotonic
seconds without one; a test's manual clock, moved by the sleeps of the client under test, makes minutes of
pacing take no time). The orders read back from ``put_order_payload`` (``orders``, ``order``, ``refund``,
``return``) keep
only the fields the query selects, each list and connection cut to its ``first`` (a connection from its
``after`` cursor, with its ``pageInfo``). A mutation repeated with the same idempotency key (the
``@idempotent`` key, else the ``Idempotency-Key`` header) gets the first answer again and has no second
effect. With ``header_idempotency=False`` only the directive counts, as on Shopify itself, where the other
mutations must be safe to repeat on their own.

Faults, one per request, in this order: ``outage(True)`` answers every call 503; scripted faults are
taken next; otherwise a seeded random draw at the chaos rate. A fault is one of:
``"<status>"`` (e.g. ``"500"``), ``"429:<seconds>"`` (with ``Retry-After``), ``"429-date:<seconds>"``
(``Retry-After`` as an HTTP-date), ``"throttled"`` (200 with a GraphQL ``THROTTLED`` error), ``"403-scope"``
(403 naming a scope the app lacks: a bare ``"403"`` or a 401 refuses the credentials, ADR 0067),
``"hang:<seconds>"`` (no answer, then the connection is closed; nothing is applied),
``"slow:<seconds>"`` (answers normally after the delay) and ``"reset"`` (TCP reset after the request).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Self

from opsdesk.fakes.query_cost import MAX_COST, actual_cost
from opsdesk.fakes.shopify_admin_controls import StandInControls
from opsdesk.fakes.shopify_bucket import STANDARD_BUCKET, THROTTLED, Bucket, too_costly
from opsdesk.fakes.shopify_faults import DEFAULT_FAULTS, Answer, fault_reply
from opsdesk.fakes.shopify_oauth import PATH as OAUTH_PATH
from opsdesk.fakes.shopify_oauth import TokenIssuer
from opsdesk.fakes.shopify_request import Call, Request, parse_request, requested_cost_of
from opsdesk.fakes.shopify_resources import Effect
from opsdesk.fakes.shopify_server import Server
from opsdesk.fakes.shopify_store import ShopifyStore
from opsdesk.fakes.wire import NoAnswer, Reply, StandInTransport
from opsdesk.ports import Clock

__all__ = ["DEFAULT_FAULTS", "Call", "Effect", "FakeShopifyAdmin", "ShopifyStore", "too_costly"]

BAD_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
#: Where the shops are before ``start()``: the origin ``transport()`` answers (``.invalid`` never resolves).
IN_MEMORY = "http://shopify.stand-in.invalid"




class FakeShopifyAdmin(StandInControls):
    """A real HTTP server on 127.0.0.1 standing in for the Admin GraphQL API of any number of shops.

    Not started, it answers in memory only, through ``transport()`` (see ``opsdesk.fakes.wire``).
    """

    def __init__(self, *, access_tokens: Iterable[str] | None = None, seed: int = 0,
                 api_version: str = "2026-07", header_idempotency: bool = True,
                 bucket: tuple[float, float] | None = None, clock: Clock | None = None) -> None:
        super().__init__(seed)  # the store, the faults and the record of calls (``shopify_admin_controls``)
        maximum, rate = bucket or STANDARD_BUCKET
        seconds = time.monotonic if clock is None else _seconds_on(clock)
        self._bucket = Bucket(maximum, rate, enforced=bucket is not None, clock=seconds)
        if clock is not None:
            self.store.now = clock.now  # the refunds it makes are dated by it
        self.oauth = TokenIssuer(seconds)  # the client credentials grant (``shopify_oauth``)
        self.api_version = api_version
        self.header_idempotency = header_idempotency
        self._tokens = frozenset(access_tokens or ())
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # set by stop(): wakes hanging and slow requests

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve from a background thread."""
        self._stopping.clear()
        self._server = Server(self.handle, self._stopping, self.store.errors)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-shopify", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging requests
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The GraphQL endpoint, for a connector that serves one shop (or does not care which)."""
        return f"{self._origin()}/admin/api/{self.api_version}/graphql.json"

    def url_for(self, shop: str) -> str:
        """A per-shop endpoint, so that calls and effects record the shop."""
        return f"{self._origin()}/shops/{shop}/admin/api/{self.api_version}/graphql.json"

    def transport(self) -> StandInTransport:
        """An httpx transport that hands requests for ``url_for(...)`` (not started) to ``handle``."""
        return StandInTransport(self.handle, IN_MEMORY, self._stopping)

    def _origin(self) -> str:
        """The server once started, else the address ``transport()`` answers."""
        return IN_MEMORY if self._server is None else f"http://127.0.0.1:{self.port}"

    def handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> Reply | NoAnswer:
        """Answer one request (headers by lower-case name), faults included, and record it."""
        if OAUTH_PATH.match(path.split("?", 1)[0]):
            status, grant = self.oauth.handle(path, headers, raw)
            return Reply(status, json.dumps(grant).encode(), {"Content-Type": "application/json; charset=utf-8"})
        arrived, key = time.monotonic(), headers.get("idempotency-key", "")
        request = parse_request(path, raw, key)
        fault = self._faults.next()
        name, _, arg = fault.partition(":")
        seen = request or Request("", "", {}, "", key, "")
        cost = requested_cost_of(seen)
        if name in ("hang", "reset"):
            self._record(Call(arrived, seen.shop, seen.operation, key, seen.idempotent_key, fault, 0, cost or 0))
            return NoAnswer(float(arg)) if name == "hang" else NoAnswer(reset=True)
        if name == "slow":
            self._stopping.wait(float(arg))
        (status, body, extra), bucket = self._answer(request, headers, cost) if name in ("", "slow") \
            else (fault_reply(name, arg), None)
        # Recorded before the answer goes out, so a client that has its answer also sees the call recorded.
        self._record(Call(arrived, seen.shop, seen.operation, key, seen.idempotent_key, fault, status, cost or 0,
                          bucket))
        return Reply(status, json.dumps(body, default=str).encode(),
                     {"Content-Type": "application/json; charset=utf-8", **extra})

    def _answer(self, request: Request | None, headers: Mapping[str, str], cost: int | None
                ) -> tuple[Answer, float | None]:
        """The answer, and the points the bucket held when the query came (None when it was not priced)."""
        token = headers.get("x-shopify-access-token", "")  # expired or revoked: 401, as on Shopify
        if not self.oauth.admits(token, request.shop if request else "", self._tokens):
            return (401, BAD_TOKEN, {}), None
        if request is None:
            return (400, {"errors": "Bad Request"}, {}), None
        if cost is None:
            return (200, {"errors": [{"message": "Syntax error: the query cannot be read",
                                      "extensions": {"code": "PARSE_ERROR"}}]}, {}), None
        if cost > MAX_COST:  # refused before it runs: no effect, no points taken
            return (200, too_costly(cost), {}), None
        allowed, found = self._bucket.take(cost)
        if not allowed:
            return (200, {**THROTTLED, "extensions": self._bucket.settle(cost, None)}, {}), found
        key = request.idempotent_key or (request.key if self.header_idempotency else "")
        body = self.store.execute(request.shop, request.operation, request.variables, key, request.query)
        data = body.get("data")
        actual = actual_cost(request.query, request.variables, data) if isinstance(data, dict) else cost
        return (200, {**body, "extensions": self._bucket.settle(cost, actual)}, {}), found





def _seconds_on(clock: Clock) -> Callable[[], float]:
    """Seconds on ``clock`` since now: small numbers keep a float's precision (epoch seconds lose a microsecond)."""
    origin = clock.now()

    def seconds() -> float:
        return (clock.now() - origin).total_seconds()

    return seconds
