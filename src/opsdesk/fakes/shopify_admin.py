"""A local Shopify Admin GraphQL server with scripted and random faults, for tests, the demo and benchmarks.

It answers the operations ``opsdesk.connectors.shopify`` sends (refundCreate, fulfillmentOrderHold,
fulfillmentOrderReleaseHold, tagsAdd, orderUpdate, discount(Code|Automatic)Deactivate,
returnApproveRequest, and the order, orders (from ``put_order_payload``, with their fulfilments and
refunds), shopifyPaymentsAccount's disputes (from ``put_dispute_payload``), return, discountNode and
codeDiscountNodeByCode queries) with Shopify-shaped bodies. It reads the operation's root field and its
variables; it is not a GraphQL engine.
Every query is priced as Shopify prices it (``opsdesk.fakes.query_cost``): one whose requested cost is over
1,000 points is refused with ``MAX_COST_EXCEEDED`` and nothing else happens; every answer carries
``extensions.cost`` (requested and actual cost, and the throttle bucket). With ``bucket=(maximum,
restore_rate)`` the bucket is enforced as Shopify's leaky bucket (a query whose requested cost is more than
what is left gets ``THROTTLED``); without, it is reported full. The orders read back from
``put_order_payload`` (``orders``, ``order``, ``refund``) keep only the fields the query selects, each list
and connection cut to its ``first`` (a connection from its ``after`` cursor, with its ``pageInfo``).
A mutation repeated with the same idempotency key (the ``@idempotent`` key, else the ``Idempotency-Key``
header) gets the first answer again and has no second effect. With ``header_idempotency=False`` only the
directive counts, as on Shopify itself, where the other mutations must be safe to repeat on their own.

Faults, one per request, in this order: ``outage(True)`` answers every call 503; scripted faults are
taken next; otherwise a seeded random draw at the chaos rate. A fault is one of:
``"<status>"`` (e.g. ``"500"``), ``"429:<seconds>"`` (with ``Retry-After``), ``"429-date:<seconds>"``
(``Retry-After`` as an HTTP-date), ``"throttled"`` (200 with a GraphQL ``THROTTLED`` error),
``"hang:<seconds>"`` (no answer, then the connection is closed; nothing is applied),
``"slow:<seconds>"`` (answers normally after the delay) and ``"reset"`` (TCP reset after the request).
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

from opsdesk.fakes.query_cost import MAX_COST, actual_cost, parse, requested_cost, shape
from opsdesk.fakes.wire import NoAnswer, Reply, StandInTransport, headers_of, write_reply

__all__ = ["DEFAULT_FAULTS", "Call", "Effect", "FakeShopifyAdmin"]

JSON = dict[str, Any]
DEFAULT_FAULTS = ("500", "429:2", "hang:1", "reset")
PATH = re.compile(r"^(?:/shops/(?P<shop>[^/]+))?/admin/api/[^/]+/graphql\.json$")
ROOT_FIELD = re.compile(r"^\s*(?:(?:query|mutation)\b[^{]*)?\{\s*(\w+)")
IDEMPOTENT = re.compile(r'@idempotent\(\s*key:\s*(?:\$(\w+)|"([^"]*)")\s*\)')
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {
    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None, "throttleStatus": {
        "maximumAvailable": 2000.0, "currentlyAvailable": 0, "restoreRate": 100.0}}}}
BAD_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
#: Shopify's standard plan: 100 points a second, a bucket of 2,000 (Plus: 1,000 a second, 10,000).
STANDARD_BUCKET = (2000.0, 100.0)
RATE_LIMITS = "https://shopify.dev/api/usage/rate-limits"
#: Which actions a fulfilment order supports in each status (``FulfillmentOrder.supportedActions``).
SUPPORTED = {"OPEN": ("CREATE_FULFILLMENT", "HOLD", "MOVE"), "ON_HOLD": ("HOLD", "RELEASE_HOLD")}
NOT_FOUND = "FULFILLMENT_ORDER_NOT_FOUND"
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


@dataclass
class _Faults:
    seed: int
    queue: deque[str] = field(default_factory=deque)
    rate: float = 0.0
    choices: Sequence[str] = DEFAULT_FAULTS
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self) -> str:
        with self.lock:
            if self.down:
                return "outage"
            if self.queue:
                return self.queue.popleft()
            if self.rate and self.rng.random() < self.rate:
                return self.rng.choice(self.choices)
            return ""


@dataclass
class _Bucket:
    """Shopify's leaky bucket of query cost points for one app on one shop."""

    maximum: float
    restore_rate: float
    enforced: bool
    available: float = -1.0
    at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, requested: int) -> bool:
        """Whether the query may run now; if so its requested cost is taken from the bucket."""
        with self.lock:
            now = time.monotonic()
            left = self.maximum if self.available < 0 else self.available
            self.available = min(self.maximum, left + (now - self.at) * self.restore_rate)
            self.at = now
            if self.enforced and requested > self.available:
                return False
            if self.enforced:
                self.available -= requested
            return True

    def settle(self, requested: int, actual: int | None) -> JSON:
        """Give back what the query did not use; the answer's ``extensions.cost``."""
        with self.lock:
            if self.enforced and actual is not None:
                self.available = min(self.maximum, self.available + requested - actual)
            left = self.available if self.enforced else self.maximum - (actual or 0)
            return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": {
                "maximumAvailable": self.maximum, "currentlyAvailable": round(max(left, 0.0), 1),
                "restoreRate": self.restore_rate}}}


class FakeShopifyAdmin:
    """A real HTTP server on 127.0.0.1 standing in for the Admin GraphQL API of any number of shops.

    Not started, it answers in memory only, through ``transport()`` (see ``opsdesk.fakes.wire``).
    """

    def __init__(self, *, access_tokens: Iterable[str] | None = None, seed: int = 0,
                 api_version: str = "2026-07", header_idempotency: bool = True,
                 bucket: tuple[float, float] | None = None) -> None:
        self.store = ShopifyStore()
        maximum, rate = bucket or STANDARD_BUCKET
        self._bucket = _Bucket(maximum, rate, enforced=bucket is not None)
        self.api_version = api_version
        self.header_idempotency = header_idempotency
        self._tokens = frozenset(access_tokens or ())
        self._faults = _Faults(seed)
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
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
        self._server = _Server(self)
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
        status, body, extra = self._answer(request, headers, cost) if name in ("", "slow") \
            else _fault_reply(name, arg)
        # Recorded before the answer goes out, so a client that has its answer also sees the call recorded.
        self._record(Call(arrived, seen.shop, seen.operation, key, seen.idempotent_key, fault, status, cost or 0))
        return Reply(status, json.dumps(body, default=str).encode(),
                     {"Content-Type": "application/json; charset=utf-8", **extra})

    def _answer(self, request: _Request | None, headers: Mapping[str, str], cost: int | None) -> _Reply:
        token = headers.get("x-shopify-access-token", "")
        if not token or (self._tokens and token not in self._tokens):
            return 401, BAD_TOKEN, {}
        if request is None:
            return 400, {"errors": "Bad Request"}, {}
        if cost is None:
            return 200, {"errors": [{"message": "Syntax error: the query cannot be read",
                                     "extensions": {"code": "PARSE_ERROR"}}]}, {}
        if cost > MAX_COST:  # refused before it runs: no effect, no points taken
            return 200, too_costly(cost), {}
        if not self._bucket.take(cost):
            return 200, {**THROTTLED, "extensions": self._bucket.settle(cost, None)}, {}
        key = request.idempotent_key or (request.key if self.header_idempotency else "")
        body = self.store.execute(request.shop, request.operation, request.variables, key, request.query)
        data = body.get("data")
        actual = actual_cost(request.query, request.variables, data) if isinstance(data, dict) else cost
        return 200, {**body, "extensions": self._bucket.settle(cost, actual)}, {}

    # -- faults --------------------------------------------------------------------------------------

    def script(self, *faults: str) -> None:
        """Inject these faults into the next calls, one each, in order."""
        _check(faults)
        with self._faults.lock:
            self._faults.queue.extend(faults)

    def chaos(self, rate: float, faults: Sequence[str] = DEFAULT_FAULTS, seed: int | None = None) -> None:
        """Fail this fraction of the calls (after the scripted ones) with faults drawn from ``faults``."""
        _check(faults)
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

    def put_order_payload(self, payload: JSON) -> None:
        """Hold this order (webhook-shaped JSON) as the shop's true current state, for the ``orders`` query."""
        self.store.put_order_payload(payload)

    def put_dispute_payload(self, payload: JSON) -> None:
        """Hold this dispute (webhook-shaped JSON) as the shop's true current state, for the disputes query."""
        self.store.put_dispute_payload(payload)

    def set_return(self, return_id: int, status: str) -> None:
        self.store.set_return(return_id, status)

    def return_status(self, return_id: int) -> str:
        return self.store.return_status(return_id)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)


FAULT = re.compile(r"^(?:\d{3}(?::\d+)?|429-date:\d+|(?:hang|slow):\d+(?:\.\d+)?|reset|throttled)$")


def _check(faults: Iterable[str]) -> None:
    """Refuse a misspelt fault now, not as an error inside the server thread later."""
    wrong = [f for f in faults if not FAULT.match(f)]
    if wrong:
        raise ValueError(f"unknown faults {wrong}; see the module docstring for the ones there are")


@dataclass(frozen=True, slots=True)
class _Request:
    shop: str
    query: str
    variables: JSON
    operation: str
    key: str
    idempotent_key: str


def too_costly(cost: int) -> JSON:
    """Shopify's answer to a query whose requested cost is over the single-query limit."""
    return {"errors": [{
        "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_COST}).\n\n"
                   "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
                   "cost of a query is calculated.\n\n"
                   "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
                   "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_COST,
                       "documentation": RATE_LIMITS}}]}


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


#: An answer: status, JSON body, extra headers.
_Reply = tuple[int, object, dict[str, str]]


def _fault_reply(name: str, arg: str) -> _Reply:
    if name == "outage":
        return 503, {"errors": "Service Unavailable"}, {}
    if name == "throttled":
        return 200, THROTTLED, {}
    if name == "429-date":
        when = formatdate(time.time() + float(arg), usegmt=True)
        return 429, {"errors": "Too Many Requests"}, {"Retry-After": when}
    return int(name), {"errors": f"HTTP {name}"}, {"Retry-After": arg} if arg else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: thousands of calls a second need reused connections
    # The answer is buffered and goes out in one write (``write_reply`` flushes it): one wake-up of the
    # client's thread per answer instead of one for the headers and one for the body, in a process whose
    # threads share one interpreter lock.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.fake.handle(self.path, headers_of(self), raw)
        if isinstance(answer, Reply):
            write_reply(self, answer)
        elif answer.reset:
            self._reset()
        else:
            self.server.fake._stopping.wait(answer.seconds)
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN: a connection reset by peer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()  # the descriptor really closes when finish() drops the file objects

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging request must not hold up stop()
    request_queue_size = 256

    def __init__(self, fake: FakeShopifyAdmin) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Close idle keep-alive connections so that their threads end."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Broken pipes from clients that gave up are expected; anything else is kept for the test to see."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.fake.store.errors.append(repr(error))


# -- the shop data ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    """One change the fake applied; a repeated idempotency key never makes a second one."""

    kind: str  # the mutation: refundCreate, fulfillmentOrderHold, ...
    key: str  # the idempotency key it was applied under, "" when none was sent
    shop: str
    target: str  # the gid acted on
    order_id: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    detail: JSON = field(default_factory=dict)


@dataclass
class _FulfillmentOrder:
    id: str
    order_id: int
    status: str = "OPEN"
    holds: list[JSON] = field(default_factory=list)

    def node(self) -> JSON:
        actions = SUPPORTED.get(self.status, ())
        return {"id": self.id, "status": self.status, "supportedActions": [{"action": a} for a in actions],
                "fulfillmentHolds": [dict(h) for h in self.holds]}


@dataclass
class _Order:
    id: int
    total: Decimal = Decimal("1000.00")
    currency: str = "USD"
    gateway: str = "shopify_payments"
    refunded: Decimal = Decimal(0)
    note: str = ""
    tags: list[str] = field(default_factory=list)
    fulfillment_orders: list[_FulfillmentOrder] = field(default_factory=list)
    financial_status: str = "PAID"  # displayFinancialStatus: PAID, PENDING, AUTHORIZED, VOIDED, ...

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.id}"

    def node(self) -> JSON:
        paid = self.financial_status in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED", "AUTHORIZED")
        sale = {"id": f"gid://shopify/OrderTransaction/{self.id}1", "kind": "SALE",
                "status": "SUCCESS" if paid else "PENDING", "gateway": self.gateway,
                "amountSet": {"presentmentMoney": {"amount": str(self.total), "currencyCode": self.currency}}}
        return {"id": self.gid, "note": self.note, "tags": list(self.tags), "transactions": [sale],
                "displayFinancialStatus": self.financial_status, "paymentGatewayNames": [self.gateway],
                "fulfillmentOrders": {"nodes": [fo.node() for fo in self.fulfillment_orders]}}


@dataclass
class _Discount:
    gid: str
    title: str = "Discount"
    status: str = "ACTIVE"
    percentage: float | None = 0.1  # a fraction, as Shopify gives it
    amount: Decimal | None = None
    currency: str = "USD"
    applies_on_each_item: bool = False
    all_items: bool = True
    ends_at: str | None = None
    usage_limit: int | None = None
    usage_count: int = 0
    combines_with: tuple[bool, bool, bool] = (False, False, False)  # order, product, shipping
    codes: tuple[str, ...] = ()  # the redeem codes of a code discount

    @property
    def is_code(self) -> bool:
        return "/DiscountCodeNode/" in self.gid

    def node(self) -> JSON:
        value: JSON = {"__typename": "DiscountPercentage", "percentage": self.percentage}
        if self.amount is not None:
            value = {"__typename": "DiscountAmount", "appliesOnEachItem": self.applies_on_each_item,
                     "amount": {"amount": str(self.amount), "currencyCode": self.currency}}
        items = {"__typename": "AllDiscountItems", "allItems": True} if self.all_items \
            else {"__typename": "DiscountProducts"}
        order, product, shipping = self.combines_with
        combines = {"orderDiscounts": order, "productDiscounts": product, "shippingDiscounts": shipping}
        discount: JSON = {
            "__typename": "DiscountCodeBasic" if self.is_code else "DiscountAutomaticBasic",
            "title": self.title, "status": self.status, "endsAt": self.ends_at,
            "asyncUsageCount": self.usage_count, "combinesWith": combines,
            "customerGets": {"value": value, "items": items}}
        if self.is_code:
            discount["usageLimit"] = self.usage_limit
            discount["codes"] = {"nodes": [{"code": code} for code in self.codes]}
        return {"id": self.gid, "discount": discount}


def _user_error(message: str, field_path: Sequence[str] = (), code: str | None = None) -> JSON:
    return {"field": list(field_path) or None, "message": message, **({"code": code} if code else {})}


def _utc_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _graphql_order(o: JSON) -> JSON:
    """A webhook-shaped (REST) order as the Admin GraphQL ``Order`` node the reconciliation query reads."""
    def money(value: object) -> JSON:
        return {"shopMoney": {"amount": str(value), "currencyCode": o.get("currency")}}

    def stamp(value: object) -> str | None:
        return _utc_time(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    def gid(kind: str, value: object) -> JSON | None:
        return {"id": f"gid://shopify/{kind}/{value}"} if value is not None else None

    tags = o.get("tags") or ""
    address = o.get("shipping_address")
    fulfilment = {None: "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
        o.get("fulfillment_status"), str(o.get("fulfillment_status")).upper())
    customer = o.get("customer") or None
    return {
        "id": f"gid://shopify/Order/{o['id']}", "legacyResourceId": str(o["id"]), "name": o.get("name"),
        "email": o.get("email") or o.get("contact_email"), "createdAt": stamp(o.get("created_at")),
        "updatedAt": stamp(o.get("updated_at")), "cancelledAt": stamp(o.get("cancelled_at")),
        "cancelReason": str(o["cancel_reason"]).upper() if o.get("cancel_reason") else None,
        "closedAt": stamp(o.get("closed_at")),
        "displayFinancialStatus": str(o.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": fulfilment,
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if isinstance(tags, str) else list(tags),
        "sourceName": o.get("source_name"), "currencyCode": o.get("currency"),
        "discountCodes": [d["code"] for d in o.get("discount_codes") or []],
        "paymentGatewayNames": list(o.get("payment_gateway_names") or []),
        "totalPriceSet": money(o.get("total_price")), "subtotalPriceSet": money(o.get("subtotal_price")),
        "totalDiscountsSet": money(o.get("total_discounts")),
        "customer": {"id": f"gid://shopify/Customer/{customer['id']}", "createdAt": stamp(customer.get("created_at"))}
        if customer else None,
        "shippingAddress": None if not address else {
            "name": address.get("name"), "address1": address.get("address1"), "address2": address.get("address2"),
            "city": address.get("city"), "provinceCode": address.get("province_code"), "zip": address.get("zip"),
            "countryCodeV2": address.get("country_code"), "phone": address.get("phone")},
        "discountApplications": {"nodes": [
            {"__typename": "DiscountCodeApplication", "code": a["code"]} if a.get("code")
            else {"__typename": "ManualDiscountApplication", "title": a.get("title")}
            for a in o.get("discount_applications") or []]},
        "fulfillments": [{
            "id": f"gid://shopify/Fulfillment/{f['id']}", "legacyResourceId": str(f["id"]),
            "status": str(f.get("status") or "success").upper(), "createdAt": stamp(f.get("created_at")),
            "updatedAt": stamp(f.get("updated_at")),
            "displayStatus": str(f["shipment_status"]).upper() if f.get("shipment_status") else "FULFILLED",
            "trackingInfo": [{"company": f["tracking_company"]}] if f.get("tracking_company") else [],
            "location": {"legacyResourceId": str(f["location_id"])} if f.get("location_id") else None}
            for f in o.get("fulfillments") or []],
        "refunds": [_graphql_refund(r, o.get("currency")) for r in o.get("refunds") or []],
        "lineItems": {"nodes": [{
            "id": f"gid://shopify/LineItem/{item['id']}", "sku": item.get("sku"), "quantity": item.get("quantity"),
            "variant": gid("ProductVariant", item.get("variant_id")), "product": gid("Product", item.get("product_id")),
            "originalUnitPriceSet": money(item.get("price")),
            "totalDiscountSet": money(item.get("total_discount") or "0.00")} for item in o.get("line_items") or []]},
    }


#: The operations whose answers are cut to the query's selection (the reconciliation sweep's reads).
SHAPED = frozenset({"orders", "order", "refund"})


def _shaped(query: str, operation: str, data: JSON, variables: JSON) -> JSON:
    """``data`` (the root field's full value) cut to what the query selects on that root field."""
    root = next(f for f in parse(query).selections if getattr(f, "name", "") == operation)
    shaped: JSON = shape(root.selections, data, variables)
    return shaped


def _graphql_refund(r: JSON, currency: object) -> JSON:
    """A webhook-shaped (REST) refund, as in the order's ``refunds``, as the Admin GraphQL ``Refund`` node the
    reconciliation query reads (money in shop money; a REST transaction without a currency is the order's)."""
    def money(amount: object, code: object) -> JSON:
        return {"shopMoney": {"amount": str(amount), "currencyCode": code or currency}}

    def shop_money(money_set: object) -> JSON:
        found = (money_set.get("shop_money") or {}) if isinstance(money_set, dict) else {}
        return money(found.get("amount"), found.get("currency_code"))

    return {
        "id": f"gid://shopify/Refund/{r['id']}", "legacyResourceId": str(r["id"]),
        "createdAt": _utc_time(str(r["created_at"])).strftime("%Y-%m-%dT%H:%M:%SZ"), "note": r.get("note"),
        "transactions": {"nodes": [{
            "id": f"gid://shopify/OrderTransaction/{t['id']}", "kind": str(t.get("kind") or "").upper(),
            "status": str(t.get("status") or "").upper(), "amountSet": money(t.get("amount"), t.get("currency"))}
            for t in r.get("transactions") or []]},
        "refundLineItems": {"nodes": [{
            "id": f"gid://shopify/RefundLineItem/{line['id']}", "quantity": line.get("quantity"),
            "lineItem": {"id": f"gid://shopify/LineItem/{line.get('line_item_id')}"},
            "subtotalSet": shop_money(line.get("subtotal_set"))} for line in r.get("refund_line_items") or []]},
    }


def _graphql_dispute(d: JSON) -> JSON:
    """A webhook-shaped (REST) dispute as the Admin GraphQL ``ShopifyPaymentsDispute`` node the sweep reads
    (dates as DateTime, as from API 2026-01 on; enums in upper case)."""
    def stamp(value: object) -> str | None:
        return _utc_time(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

    def enum(value: object) -> str | None:
        return str(value).upper() if value else None

    return {
        "id": f"gid://shopify/ShopifyPaymentsDispute/{d['id']}", "legacyResourceId": str(d["id"]),
        "status": enum(d.get("status")), "type": enum(d.get("type")), "initiatedAt": stamp(d.get("initiated_at")),
        "evidenceDueBy": stamp(d.get("evidence_due_by")), "evidenceSentOn": stamp(d.get("evidence_sent_on")),
        "finalizedOn": stamp(d.get("finalized_on")),
        "amount": {"amount": str(d.get("amount")), "currencyCode": d.get("currency")},
        "reasonDetails": {"reason": enum(d.get("reason")), "networkReasonCode": d.get("network_reason_code")},
        "order": {"legacyResourceId": str(d["order_id"])} if d.get("order_id") else None,
    }


def _number(gid: object) -> int:
    return int(str(gid).rsplit("/", 1)[-1])


class ShopifyStore:
    """The fake's orders and discounts and the operations on them; one lock makes it thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[int, _Order] = {}
        self._fulfillment_orders: dict[str, _FulfillmentOrder] = {}
        self._discounts: dict[str, _Discount] = {}
        self._returns: dict[str, str] = {}  # return gid -> status (REQUESTED, OPEN, DECLINED, ...)
        self._payloads: dict[int, JSON] = {}  # order id -> webhook-shaped order, for the ``orders`` query
        self._disputes: dict[int, JSON] = {}  # dispute id -> webhook-shaped dispute, for the disputes query
        #: False: the shop has no Shopify Payments account (``shopifyPaymentsAccount`` is null).
        self.payments_account = True
        self._replies: dict[tuple[str, str, str], JSON] = {}
        self._effects: list[Effect] = []
        self._sequence = 0
        self.errors: list[str] = []
        self._ops: dict[str, Callable[[JSON], tuple[JSON | None, Effect | None]]] = {
            "order": self._order, "discountNode": self._discount_node, "refundCreate": self._refund,
            "refund": self._refund_node,
            "codeDiscountNodeByCode": self._discount_by_code,
            "fulfillmentOrderHold": self._hold, "fulfillmentOrderReleaseHold": self._release,
            "tagsAdd": self._tags_add, "orderUpdate": self._order_update,
            "return": self._return, "returnApproveRequest": self._approve_return, "orders": self._orders_page,
            "shopifyPaymentsAccount": self._disputes_page,
            "discountCodeDeactivate": functools.partial(self._deactivate, code=True),
            "discountAutomaticDeactivate": functools.partial(self._deactivate, code=False)}

    @property
    def effects(self) -> list[Effect]:
        with self._lock:
            return list(self._effects)

    def add_order(self, order_id: int, *, total: str = "1000.00", currency: str = "USD",
                  gateway: str = "shopify_payments", fulfillment_orders: Sequence[str] = ("OPEN",),
                  financial_status: str = "PAID") -> None:
        with self._lock:
            order = _Order(order_id, Decimal(total), currency, gateway, financial_status=financial_status)
            self._orders[order_id] = order
            self._add_fulfillment_orders(order, fulfillment_orders)

    def add_discount(self, gid: str, **terms: Any) -> None:
        with self._lock:
            self._discounts[gid] = _Discount(gid, **terms)

    def put_order_payload(self, payload: JSON) -> None:
        with self._lock:
            self._payloads[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def _orders_page(self, v: JSON) -> tuple[JSON, None]:
        """``orders(first, after, query: "updated_at:>='T'", sortKey: UPDATED_AT)`` over the held payloads."""
        found = re.search(r"updated_at:(>=?)'?([^' ]+)'?", str(v.get("query") or ""))
        since = _utc_time(found.group(2)) if found else None
        ordered = sorted(((_utc_time(o["updated_at"]), i) for i, o in self._payloads.items()))
        if since is not None and found is not None:
            ordered = [k for k in ordered if k[0] > since or (found.group(1) == ">=" and k[0] == since)]
        if v.get("after"):
            at, _, number = str(v["after"]).partition("|")
            ordered = [k for k in ordered if k > (_utc_time(at), int(number))]
        page = ordered[: int(v.get("first") or 50)]
        cursor = f"{page[-1][0].isoformat()}|{page[-1][1]}" if page else None
        return {"pageInfo": {"hasNextPage": len(ordered) > len(page), "endCursor": cursor},
                "nodes": [_graphql_order(self._payloads[i]) for _, i in page]}, None

    def put_dispute_payload(self, payload: JSON) -> None:
        with self._lock:
            self._disputes[int(payload["id"])] = json.loads(json.dumps(payload, default=str))

    def _disputes_page(self, v: JSON) -> tuple[JSON | None, None]:
        """``shopifyPaymentsAccount { disputes(first, after, query: "initiated_at:>='T'") }`` over the held
        disputes, by id (Shopify's default order); the cursor is the last id."""
        if not self.payments_account:
            return None, None
        found = re.search(r"initiated_at:(>=?)'?([^' ]+)'?", str(v.get("query") or ""))
        since = _utc_time(found.group(2)) if found else None
        ordered = sorted(self._disputes)
        if since is not None and found is not None:
            ordered = [i for i in ordered if (at := _utc_time(self._disputes[i]["initiated_at"])) > since
                       or (found.group(1) == ">=" and at == since)]
        if v.get("after"):
            ordered = [i for i in ordered if i > int(str(v["after"]))]
        page = ordered[: int(v.get("first") or 50)]
        info = {"hasNextPage": len(ordered) > len(page), "endCursor": str(page[-1]) if page else None}
        return {"disputes": {"pageInfo": info, "nodes": [_graphql_dispute(self._disputes[i]) for i in page]}}, None

    def set_return(self, return_id: int, status: str) -> None:
        """A return's status (returns exist as REQUESTED when first asked for)."""
        with self._lock:
            self._returns[f"gid://shopify/Return/{return_id}"] = status

    def return_status(self, return_id: int) -> str:
        with self._lock:
            return self._returns.get(f"gid://shopify/Return/{return_id}", "REQUESTED")

    def order(self, order_id: int) -> JSON:
        """The order as the ``order`` query shows it."""
        with self._lock:
            return self._get_order(order_id).node()

    def discount(self, gid: str) -> JSON | None:
        with self._lock:
            found = self._discounts.get(gid)
            return found.node() if found else None

    def execute(self, shop: str, operation: str, variables: JSON, key: str, query: str = "") -> JSON:
        """Answer one operation; a mutation already applied under ``key`` gets its first answer again.

        An order of the ``orders``, ``order`` or ``refund`` query keeps only the fields the query selects, its
        lists and connections cut to their ``first``: a connector that stops asking for a field, or never
        asked, does not get it, and one that asks for fewer items than there are gets that many, as from
        Shopify."""
        op = self._ops.get(operation)
        if op is None:
            return {"errors": [{"message": f"Field '{operation}' doesn't exist on type 'Root'",
                                "extensions": {"code": "undefinedField"}}]}
        target = str(variables.get("id") or (variables.get("input") or {}).get("orderId")
                     or (variables.get("input") or {}).get("id") or "")
        with self._lock:
            replay = (key, operation, target)
            if key and replay in self._replies:
                return self._replies[replay]
            try:
                data, effect = op(variables)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                self.errors.append(f"{operation}: {exc!r}")
                return {"errors": [{"message": f"Variable input is invalid: {exc!r}",
                                    "extensions": {"code": "INVALID_VARIABLE"}}]}
            if operation in SHAPED and query and data is not None:
                data = _shaped(query, operation, data, variables)
            body: JSON = {"data": {operation: data}}
            if effect is not None:
                self._effects.append(replace(effect, kind=operation, key=key, shop=shop))
                if key:
                    self._replies[replay] = body
            return body

    def _get_order(self, order_id: int) -> _Order:
        """Orders exist when first asked for, with the default terms."""
        if order_id not in self._orders:
            self._orders[order_id] = order = _Order(order_id)
            self._add_fulfillment_orders(order, ("OPEN",))
        return self._orders[order_id]

    def _add_fulfillment_orders(self, order: _Order, statuses: Sequence[str]) -> None:
        for i, status in enumerate(statuses, start=1):
            fo = _FulfillmentOrder(f"gid://shopify/FulfillmentOrder/{order.id}{i}", order.id, status)
            order.fulfillment_orders.append(fo)
            self._fulfillment_orders[fo.id] = fo

    def _next_id(self, kind: str) -> str:
        self._sequence += 1
        return f"gid://shopify/{kind}/{self._sequence}"

    # Each operation returns (the mutation payload or query result, the effect or None).

    def _order(self, v: JSON) -> tuple[JSON | None, None]:
        """The order's actions view, and its reconciliation view when ``put_order_payload`` holds it."""
        number = _number(v["id"])
        held = self._payloads.get(number)
        node = self._get_order(number).node()
        return (node if held is None else {**node, **_graphql_order(held)}), None

    def _refund_node(self, v: JSON) -> tuple[JSON | None, None]:
        """``refund(id:)``: a refund of one of the orders ``put_order_payload`` holds."""
        number = _number(v["id"])
        for order in self._payloads.values():
            for refund in order.get("refunds") or []:
                if int(refund["id"]) == number:
                    return _graphql_refund(refund, order.get("currency")), None
        return None, None

    def _return(self, v: JSON) -> tuple[JSON | None, None]:
        gid = str(v["id"])
        return {"id": gid, "status": self._returns.setdefault(gid, "REQUESTED")}, None

    def _approve_return(self, v: JSON) -> tuple[JSON, Effect | None]:
        gid = str(v["input"]["id"])
        if self._returns.setdefault(gid, "REQUESTED") != "REQUESTED":
            error = _user_error("Return is not approvable.", ("input", "id"), "INVALID_STATE")
            return {"return": None, "userErrors": [error]}, None
        self._returns[gid] = "OPEN"
        return {"return": {"id": gid, "status": "OPEN"}, "userErrors": []}, Effect("", "", "", gid)

    def _discount_node(self, v: JSON) -> tuple[JSON | None, None]:
        found = self._discounts.get(str(v["id"]))
        return (found.node() if found else None), None

    def _discount_by_code(self, v: JSON) -> tuple[JSON | None, None]:
        code = str(v["code"]).casefold()
        found = next((d for d in self._discounts.values() if code in (c.casefold() for c in d.codes)), None)
        return ({"id": found.gid} if found else None), None

    def _refund(self, v: JSON) -> tuple[JSON, Effect | None]:
        given = v["input"]
        order = self._get_order(_number(given["orderId"]))
        amount = sum((Decimal(str(t["amount"])) for t in given.get("transactions") or []), Decimal(0))
        left = order.total - order.refunded
        if amount <= 0 or amount > left:
            error = _user_error(f"Refund amount {amount} is greater than net payment received {left}",
                                ("transactions", "0", "amount"))
            return {"refund": None, "order": None, "userErrors": [error]}, None
        order.refunded += amount
        currency = str(given.get("currency") or order.currency)
        refund = {"id": self._next_id("Refund"),
                  "totalRefundedSet": {"presentmentMoney": {"amount": str(amount), "currencyCode": currency}}}
        gateway = (given.get("transactions") or [{}])[0].get("gateway")
        effect = Effect("", "", "", order.gid, order.id, amount, currency,
                        {"note": given.get("note"), "notify": given.get("notify"), "gateway": gateway})
        return {"refund": refund, "order": {"id": order.gid}, "userErrors": []}, effect

    def _hold(self, v: JSON) -> tuple[JSON, Effect | None]:
        fo, hold = self._fulfillment_orders.get(str(v["id"])), v["fulfillmentHold"]
        handle = hold.get("handle")
        error = None
        if fo is None or "HOLD" not in SUPPORTED.get(fo.status, ()):
            error = _user_error("The fulfillment order could not be found.", ("id",), NOT_FOUND)
        elif handle and any(h["handle"] == handle for h in fo.holds):
            error = _user_error("The handle is already in use for a hold on this fulfillment order.",
                                ("handle",), "DUPLICATE_FULFILLMENT_HOLD_HANDLE")
        if fo is None or error is not None:
            return {"fulfillmentHold": None, "fulfillmentOrder": None, "userErrors": [error]}, None
        created = {"id": self._next_id("FulfillmentHold"), "handle": handle, "reason": hold["reason"]}
        fo.holds.append(created)
        fo.status = "ON_HOLD"
        effect = Effect("", "", "", fo.id, fo.order_id, detail={"reason": hold["reason"], "handle": handle})
        return {"fulfillmentHold": created, "fulfillmentOrder": {"id": fo.id, "status": fo.status},
                "userErrors": []}, effect

    def _release(self, v: JSON) -> tuple[JSON, Effect | None]:
        fo = self._fulfillment_orders.get(str(v["id"]))
        if fo is None or fo.status != "ON_HOLD":
            error = _user_error("The fulfillment order wasn't found.", ("id",), NOT_FOUND)
            return {"fulfillmentOrder": None, "userErrors": [error]}, None
        released = [h["id"] for h in fo.holds]
        fo.holds.clear()
        fo.status = "OPEN"
        effect = Effect("", "", "", fo.id, fo.order_id, detail={"released": released})
        return {"fulfillmentOrder": {"id": fo.id, "status": fo.status}, "userErrors": []}, effect

    def _tags_add(self, v: JSON) -> tuple[JSON, Effect]:
        order = self._get_order(_number(v["id"]))
        order.tags.extend(t for t in v["tags"] if t not in order.tags)
        effect = Effect("", "", "", order.gid, order.id, detail={"tags": list(v["tags"])})
        return {"node": {"id": order.gid}, "userErrors": []}, effect

    def _order_update(self, v: JSON) -> tuple[JSON, Effect]:
        order = self._get_order(_number(v["input"]["id"]))
        order.note = str(v["input"].get("note") or "")
        effect = Effect("", "", "", order.gid, order.id, detail={"note": order.note})
        return {"order": {"id": order.gid, "note": order.note}, "userErrors": []}, effect

    def _deactivate(self, v: JSON, *, code: bool) -> tuple[JSON, Effect | None]:
        found = self._discounts.get(str(v["id"]))
        node = "codeDiscountNode" if code else "automaticDiscountNode"
        if found is None or found.is_code != code:
            error = _user_error("Discount does not exist", ("id",), "INVALID")
            return {node: None, "userErrors": [error]}, None
        found.status = "EXPIRED"
        effect = Effect("", "", "", found.gid, detail={"status": found.status})
        return {node: {"id": found.gid}, "userErrors": []}, effect
