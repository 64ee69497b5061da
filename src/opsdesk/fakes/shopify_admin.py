"""A local Shopify Admin GraphQL server with scripted and random faults, for tests, the demo and benchmarks.

It answers the operations ``opsdesk.connectors.shopify`` sends (refundCreate, fulfillmentOrderHold (several
holds on a fulfilment order, each with an id and a handle), fulfillmentOrderReleaseHold (of the ``holdIds``),
tagsAdd, orderUpdate, discount(Code|Automatic)Deactivate, returnApproveRequest, and the order, orders (from
``put_order_payload``, with their fulfilments and refunds, and their returns from ``put_return_payload``),
shopifyPaymentsAccount's disputes (from ``put_dispute_payload``), return, discountNode and
codeDiscountNodeByCode queries) with Shopify-shaped bodies.
It also answers Shopify's client credentials grant at ``…/admin/oauth/access_token`` (``oauth``, in
``shopify_oauth``): once an app is registered there, only its unexpired tokens (and the ``access_tokens``) pass.
It reads the operation's root field and its variables; it is not a GraphQL engine. This module is the HTTP
application (requests, faults, the record of calls); the shop's data and operations are in ``shopify_store``
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
(``Retry-After`` as an HTTP-date), ``"throttled"`` (200 with a GraphQL ``THROTTLED`` error),
``"hang:<seconds>"`` (no answer, then the connection is closed; nothing is applied),
``"slow:<seconds>"`` (answers normally after the delay) and ``"reset"`` (TCP reset after the request).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

from opsdesk.fakes.query_cost import MAX_COST, actual_cost, requested_cost
from opsdesk.fakes.shopify_bucket import STANDARD_BUCKET, THROTTLED, Bucket, too_costly
from opsdesk.fakes.shopify_faults import DEFAULT_FAULTS, Answer, Faults, check_faults, fault_reply
from opsdesk.fakes.shopify_oauth import PATH as OAUTH_PATH
from opsdesk.fakes.shopify_oauth import TokenIssuer
from opsdesk.fakes.shopify_resources import Effect
from opsdesk.fakes.shopify_server import Server
from opsdesk.fakes.shopify_store import ShopifyStore
from opsdesk.fakes.wire import NoAnswer, Reply, StandInTransport
from opsdesk.ports import Clock

__all__ = ["DEFAULT_FAULTS", "Call", "Effect", "FakeShopifyAdmin", "ShopifyStore", "too_costly"]

JSON = dict[str, Any]
PATH = re.compile(r"^(?:/shops/(?P<shop>[^/]+))?/admin/api/[^/]+/graphql\.json$")
ROOT_FIELD = re.compile(r"^\s*(?:(?:query|mutation)\b[^{]*)?\{\s*(\w+)")
IDEMPOTENT = re.compile(r'@idempotent\(\s*key:\s*(?:\$(\w+)|"([^"]*)")\s*\)')
BAD_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
#: Where the shops are before ``start()``: the origin ``transport()`` answers (``.invalid`` never resolves).
IN_MEMORY = "http://shopify.stand-in.invalid"


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the fake saw it."""

    at: float  # time.monotonic() on arrival
    shop: str
    operation: str  # the GraphQL root field: refundCreate, order, ...
    key: str  # the Idempotency-Key header
    idempotent_key: str  # the @idempotent(key:) value
    fault: str  # the fault injected, "" for none
    status: int  # the HTTP status answered; 0 when no answer was sent
    cost: int = 0  # the query's requested cost, as Shopify computes it before running it
    #: The points in the shop's cost bucket when the query came (None: not priced: a fault, a refused query).
    bucket: float | None = None


class FakeShopifyAdmin:
    """A real HTTP server on 127.0.0.1 standing in for the Admin GraphQL API of any number of shops.

    Not started, it answers in memory only, through ``transport()`` (see ``opsdesk.fakes.wire``).
    """

    def __init__(self, *, access_tokens: Iterable[str] | None = None, seed: int = 0,
                 api_version: str = "2026-07", header_idempotency: bool = True,
                 bucket: tuple[float, float] | None = None, clock: Clock | None = None) -> None:
        self.store = ShopifyStore()
        maximum, rate = bucket or STANDARD_BUCKET
        seconds = time.monotonic if clock is None else _seconds_on(clock)
        self._bucket = Bucket(maximum, rate, enforced=bucket is not None, clock=seconds)
        self.oauth = TokenIssuer(seconds)  # the client credentials grant (``shopify_oauth``)
        self.api_version = api_version
        self.header_idempotency = header_idempotency
        self._tokens = frozenset(access_tokens or ())
        self._faults = Faults(seed)
        self._calls: list[Call] = []
        self._lock = threading.Lock()
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
        request = _parse(path, raw, key)
        fault = self._faults.next()
        name, _, arg = fault.partition(":")
        seen = request or _Request("", "", {}, "", key, "")
        cost = _requested(seen)
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

    def _answer(self, request: _Request | None, headers: Mapping[str, str], cost: int | None
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

    # -- faults --------------------------------------------------------------------------------------

    def script(self, *faults: str) -> None:
        """Inject these faults into the next calls, one each, in order."""
        check_faults(faults)
        with self._faults.lock:
            self._faults.queue.extend(faults)

    def chaos(self, rate: float, faults: Sequence[str] = DEFAULT_FAULTS, seed: int | None = None) -> None:
        """Fail this fraction of the calls (after the scripted ones) with faults drawn from ``faults``."""
        check_faults(faults)
        with self._faults.lock:
            self._faults.rate, self._faults.choices = rate, tuple(faults)
            if seed is not None:
                self._faults.rng.seed(seed)

    def outage(self, on: bool) -> None:
        """While on, every call gets 503."""
        with self._faults.lock:
            self._faults.down = on

    # -- what happened -------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def effects(self) -> list[Effect]:
        return self.store.effects

    def effects_for(self, key: str) -> list[Effect]:
        return [e for e in self.store.effects if e.key == key]

    def add_order(self, order_id: int, **terms: Any) -> None:
        """Give an order other terms than the default (1000.00 USD, one open fulfilment order)."""
        self.store.add_order(order_id, **terms)

    def add_discount(self, gid: str, **terms: Any) -> None:
        self.store.add_discount(gid, **terms)

    def add_inventory_item(self, item_id: int, sku: str, *, tracked: bool = True) -> None:
        """An item of the shop's catalogue, for the ``inventoryItem`` query."""
        self.store.add_inventory_item(item_id, sku, tracked=tracked)

    def hold_by_hand(self, order_id: int, reason: str = "OTHER", handle: str = "") -> str:
        """Hold the order as a person in Shopify's admin would (or another app, with a handle): the hold's id."""
        return self.store.hold_by_hand(order_id, reason, handle)

    def put_order_payload(self, payload: JSON) -> None:
        """Hold this order (webhook-shaped JSON) as the shop's true current state, for the ``orders`` query."""
        self.store.put_order_payload(payload)

    def put_dispute_payload(self, payload: JSON) -> None:
        """Hold this dispute (webhook-shaped JSON) as the shop's true current state, for the disputes query."""
        self.store.put_dispute_payload(payload)

    def put_return_payload(self, payload: JSON) -> None:
        """Hold this return (the ``returns/request`` webhook's body, with a ``created_at``) as the shop's true
        current state, read back on its order (``returns``, ``returnStatus``) in the ``orders`` and ``order``
        queries and by ``return``; its status is the body's until ``set_return`` or an approval moves it."""
        self.store.put_return_payload(payload)

    def set_return(self, return_id: int, status: str) -> None:
        self.store.set_return(return_id, status)

    def return_status(self, return_id: int) -> str:
        return self.store.return_status(return_id)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)


@dataclass(frozen=True, slots=True)
class _Request:
    shop: str
    query: str
    variables: JSON
    operation: str
    key: str
    idempotent_key: str


def _requested(request: _Request) -> int | None:
    """The request's requested cost; None when its query cannot be read."""
    try:
        return requested_cost(request.query, request.variables) if request.query else 0
    except (ValueError, TypeError):
        return None


def _parse(path: str, body: bytes, key: str) -> _Request | None:
    match = PATH.match(path.split("?", 1)[0])
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if match is None or not isinstance(request, dict):
        return None
    query, variables = str(request.get("query") or ""), request.get("variables") or {}
    root = ROOT_FIELD.match(query)
    directive = IDEMPOTENT.search(query)
    idempotent_key = ""
    if directive:  # @idempotent(key: $variable) or @idempotent(key: "literal")
        name, literal = directive.groups()
        idempotent_key = str(variables.get(name, "")) if name else literal
    return _Request(unquote(match.group("shop") or ""), query, variables, root.group(1) if root else "", key,
                    idempotent_key)


def _seconds_on(clock: Clock) -> Callable[[], float]:
    """Seconds on ``clock`` since now: small numbers keep a float's precision (epoch seconds lose a microsecond)."""
    origin = clock.now()

    def seconds() -> float:
        return (clock.now() - origin).total_seconds()

    return seconds
