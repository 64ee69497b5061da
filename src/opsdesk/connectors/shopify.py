"""Shopify Admin GraphQL: refunds, holds, tags, notes, discount pauses, return approvals, payment re-checks.

Every call carries ``Idempotency-Key: <action key>``, and ``refundCreate`` carries Shopify's
``@idempotent(key:)`` directive (API 2026-01+, required from 2026-04), so a refund retried after a lost
answer is made once. The other mutations are made safe to repeat here: a hold goes under a handle that
says why and skips fulfilment orders that already carry it, a release names the ids of the desk's holds it
means and finds nothing left to release (``shopify_holds``), adding a tag twice or setting the same note
twice changes nothing. A discount known only by a code it is redeemed with is looked up by that code
(``codeDiscountNodeByCode``) before it is deactivated.

It also answers the reconciliation sweep's queries (``shopify_reads``), which pace themselves: before sending
one, the connector waits (with its injected sleeper) until the shop's cost bucket, as the last answer left it
and refilled since, holds the query's requested cost plus a reserve for the desk's actions
(``shopify_bucket``). Actions never wait.

Outcomes: 2xx without errors -> Delivered; ``userErrors`` -> Rejected; ``THROTTLED``, 429, 408, 5xx,
timeouts and broken connections -> RetryLater (with the provider's wait when it gives one); other 4xx and
3xx (redirects are never followed) -> Rejected. No httpx exception leaves this module.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx

from opsdesk.clock import SystemClock
from opsdesk.connectors.http import ApiClient
from opsdesk.connectors.shopify_bucket import DEFAULT_RESERVE, CostBuckets, throttle_wait
from opsdesk.connectors.shopify_holds import FulfilmentHolds
from opsdesk.connectors.shopify_ids import gid, order_gid
from opsdesk.connectors.shopify_reads import Reply, SweepReads
from opsdesk.domain.errors import InvalidPayload, NotFound, Unavailable
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Clock

JSON = dict[str, Any]

REFUND = """mutation Refund($input: RefundInput!, $idempotencyKey: String!) {
  refundCreate(input: $input) @idempotent(key: $idempotencyKey) {
    refund { id totalRefundedSet { presentmentMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""
ORDER_PAYMENTS = """query OrderPayments($id: ID!) {
  order(id: $id) { id transactions(first: 50) { id kind status gateway } }
}"""
TAGS = """mutation Tags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
NOTE = """mutation Note($input: OrderInput!) {
  orderUpdate(input: $input) { order { id note } userErrors { field message } }
}"""
DEACTIVATE_CODE = """mutation DeactivateCode($id: ID!) {
  discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field message code } }
}"""
DEACTIVATE_AUTOMATIC = """mutation DeactivateAutomatic($id: ID!) {
  discountAutomaticDeactivate(id: $id) { automaticDiscountNode { id } userErrors { field message code } }
}"""
#: A code discount by one of its redeem codes (Shopify matches codes in any letter case).
DISCOUNT_BY_CODE = """query DiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}"""
DISCOUNT_TERMS = """query DiscountTerms($id: ID!) {
  discountNode(id: $id) { id discount { __typename
    ... on DiscountCodeBasic { title status endsAt usageLimit asyncUsageCount codes(first: 10) { nodes { code } }
      combinesWith { orderDiscounts productDiscounts shippingDiscounts } customerGets { ...Gets } }
    ... on DiscountAutomaticBasic { title status endsAt asyncUsageCount
      combinesWith { orderDiscounts productDiscounts shippingDiscounts } customerGets { ...Gets } } } }
}
fragment Gets on DiscountCustomerGets {
  value { __typename ... on DiscountPercentage { percentage }
    ... on DiscountAmount { amount { amount currencyCode } appliesOnEachItem } }
  items { __typename ... on AllDiscountItems { allItems } }
}"""

RETURN_STATUS = """query ReturnStatus($id: ID!) { return(id: $id) { id status } }"""
APPROVE_RETURN = """mutation ApproveReturn($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) { return { id status } userErrors { field message code } }
}"""
PAYMENT_STATUS = """query PaymentStatus($id: ID!) {
  order(id: $id) { id displayFinancialStatus paymentGatewayNames
    transactions(first: 50) { id kind status gateway } }
}"""

DEACTIVATIONS = {"DiscountCodeNode": ("discountCodeDeactivate", DEACTIVATE_CODE),
                 "DiscountAutomaticNode": ("discountAutomaticDeactivate", DEACTIVATE_AUTOMATIC)}
DISCOUNT_GID = re.compile(r"^gid://shopify/(DiscountCodeNode|DiscountAutomaticNode)/\d+$")
#: Shopify refuses a query whose requested cost is over its single-query limit, before running it: asking
#: again cannot help, the query must ask for less.
TOO_COSTLY = "MAX_COST_EXCEEDED"
#: Top-level GraphQL error codes that say "not now" rather than "never".
TRANSIENT_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


class ShopifyAdmin:
    """Sends outbox actions to the Shopify Admin GraphQL API of each shop."""

    provider = "shopify"
    #: How many of an order's refunds and fulfilments ``orders_updated`` lists (an order with that many may
    #: have more: only ``order`` reads them all).
    listed = SweepReads.listed

    def __init__(self, base_url_for: Callable[[str], str], token_for: Callable[[str], str], *,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep,
                 reserve: float = DEFAULT_RESERVE) -> None:
        self._base_url_for = base_url_for
        self._token_for = token_for
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._buckets = CostBuckets(reserve)
        # The reconciliation sweep's queries, paced by the buckets every answer here keeps up to date.
        self._reads = SweepReads(self._execute, self._buckets, self._clock, sleep)
        self._holds = FulfilmentHolds(self._execute, self._mutate)
        self._timeout = timeout
        # Redirects are never followed (ApiClient): a 3xx from an Admin API endpoint is a misconfiguration,
        # and following it would send the access token wherever it points.
        self._client = ApiClient(timeout=timeout, transport=transport)
        self._urls: dict[str, httpx.URL] = {}  # each endpoint parsed once
        self._handlers: dict[str, Callable[[OutboxAction], SendResult]] = {
            "refund": self._refund, "hold_fulfillment": self._holds.hold, "release_hold": self._holds.release,
            "add_tags": self._add_tags, "note": self._note, "deactivate_discount": self._deactivate,
            "approve_return": self._approve_return, "check_payment": self._check_payment,
        }

    def with_transport(self, transport: httpx.BaseTransport) -> ShopifyAdmin:
        """The same shops, credentials, timeout, clock, sleeper and reserve, the requests carried by ``transport``."""
        return ShopifyAdmin(self._base_url_for, self._token_for, timeout=self._timeout, transport=transport,
                            clock=self._clock, sleep=self._sleep, reserve=self._buckets.reserve)

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
        reply = self._execute(shop, DISCOUNT_TERMS, {"id": discount_gid}, None)
        if not isinstance(reply, dict):
            raise Unavailable(f"shopify could not read discount {discount_gid}: {reply.reason}")
        node = reply.get("discountNode")
        if not isinstance(node, dict):
            raise NotFound(f"no discount {discount_gid} in {shop}")
        return _terms(node)

    def orders_updated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the orders updated at or after ``since`` (``SweepReads.orders_updated``)."""
        return self._reads.orders_updated(shop, since, after, first)

    def order(self, shop: str, order_gid: str) -> Reply:
        """The whole order, every connection followed to its end (``SweepReads.order``)."""
        return self._reads.order(shop, order_gid)

    def disputes_initiated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the disputes initiated at or after ``since`` (``SweepReads.disputes_initiated``)."""
        return self._reads.disputes_initiated(shop, since, after, first)

    def paced(self, shop: str) -> float:
        """Seconds the sweep's reads have waited so far for the shop's cost bucket, before sending."""
        return self._reads.paced(shop)

    # -- actions -------------------------------------------------------------------------------------

    def _refund(self, action: OutboxAction) -> SendResult:
        """refundCreate for the payload's amount, through the payment gateway of the order's sale."""
        # notify defaults to False: the customer hears from us, through the email templates.
        order, payload = order_gid(action), action.payload
        amount = _amount(payload.get("amount"))
        payment = self._payment(action, order)
        if not isinstance(payment, dict):
            return payment
        transaction = {"orderId": order, "kind": "REFUND", "amount": str(amount), **payment}
        refund: JSON = {"orderId": order, "note": str(payload.get("note") or ""),
                        "notify": bool(payload.get("notify", False)), "transactions": [transaction]}
        if payload.get("currency"):
            refund["currency"] = str(payload["currency"])
        variables = {"input": refund, "idempotencyKey": action.idempotency_key}
        result = self._mutate(action, "refundCreate", REFUND, variables)
        if not isinstance(result, dict):
            return result
        return Delivered({"refund_id": (result.get("refund") or {}).get("id"), "order_id": order,
                          "amount": str(amount), "currency": payload.get("currency")})

    def _payment(self, action: OutboxAction, order: str) -> Reply:
        """The gateway (and parent transaction) to refund through: from the payload, else the order's sale."""
        payload = action.payload
        if payload.get("gateway"):
            parent = payload.get("parent_transaction_id")
            return {"gateway": str(payload["gateway"]), **({"parentId": str(parent)} if parent else {})}
        reply = self._execute(action.shop, ORDER_PAYMENTS, {"id": order}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        for tx in (reply.get("order") or {}).get("transactions") or []:
            if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS":
                return {"gateway": tx["gateway"], "parentId": tx["id"]}
        return Rejected(f"order {order} has no successful sale or capture to refund")

    def _add_tags(self, action: OutboxAction) -> SendResult:
        given = action.payload.get("tags") or []
        parts = given.split(",") if isinstance(given, str) else map(str, given)
        tags = [t.strip() for t in parts if t.strip()]
        if not tags:
            raise InvalidPayload("add_tags needs at least one tag")
        order = order_gid(action)
        result = self._mutate(action, "tagsAdd", TAGS, {"id": order, "tags": tags})
        return result if not isinstance(result, dict) else Delivered({"order_id": order, "tags": tags})

    def _note(self, action: OutboxAction) -> SendResult:
        note = str(action.payload.get("note") or action.payload.get("text") or "")
        if not note:
            raise InvalidPayload("note needs a text")
        order = order_gid(action)
        result = self._mutate(action, "orderUpdate", NOTE, {"input": {"id": order, "note": note}})
        return result if not isinstance(result, dict) else Delivered({"order_id": order, "note": note})

    def _deactivate(self, action: OutboxAction) -> SendResult:
        """Deactivate the discount the payload names by its node id, or else by one of its codes (a
        discount created before opsdesk heard of it is known only by the code orders carry)."""
        discount = str(action.payload.get("discount_id") or "")
        code = str(action.payload.get("code") or "").strip()
        if not discount and code:
            found = self._discount_by_code(action.shop, code)
            if not isinstance(found, str):
                return found
            discount = found
        match = DISCOUNT_GID.match(discount)
        if match is None:
            raise InvalidPayload(f"not a discount node id: {discount!r}")
        field, query = DEACTIVATIONS[match.group(1)]
        result = self._mutate(action, field, query, {"id": discount})
        if not isinstance(result, dict):
            return result
        return Delivered({"discount_id": discount, "active": False, **({"code": code} if code else {})})

    def _discount_by_code(self, shop: str, code: str) -> str | SendResult:
        """The node id of the code discount redeemed with ``code``, or why there is none."""
        reply = self._execute(shop, DISCOUNT_BY_CODE, {"code": code}, None)
        if not isinstance(reply, dict):
            return reply
        node = reply.get("codeDiscountNodeByCode")
        if not isinstance(node, dict) or not node.get("id"):
            return Rejected(f"no code discount {code!r} in {shop}")
        return str(node["id"])

    def _approve_return(self, action: OutboxAction) -> SendResult:
        """returnApproveRequest, unless the return is open already (a retry of an approval that was made)."""
        target = gid("Return", action.payload.get("return_id"))
        reply = self._execute(action.shop, RETURN_STATUS, {"id": target}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        status = str((reply.get("return") or {}).get("status") or "")
        if status == "OPEN":
            return Delivered({"return_id": target, "status": status, "already": True})
        if status != "REQUESTED":
            return Rejected(f"return {target} cannot be approved: it is {status or 'not found'}")
        result = self._mutate(action, "returnApproveRequest", APPROVE_RETURN, {"input": {"id": target}})
        if not isinstance(result, dict):
            return result
        return Delivered({"return_id": target, "status": (result.get("return") or {}).get("status")})

    def _check_payment(self, action: OutboxAction) -> SendResult:
        """Ask again how the order's payment stands (a query: nothing changes, so repeating it is safe)."""
        order = order_gid(action)
        reply = self._execute(action.shop, PAYMENT_STATUS, {"id": order}, action.idempotency_key)
        if not isinstance(reply, dict):
            return reply
        found = reply.get("order")
        if not isinstance(found, dict):
            return Rejected(f"no order {order} in {action.shop}")
        transactions = found.get("transactions") or []
        return Delivered({"order_id": order, "financial_status": str(found.get("displayFinancialStatus") or ""),
                          "gateways": [str(g) for g in found.get("paymentGatewayNames") or []],
                          "transactions": [{k: t.get(k) for k in ("id", "kind", "status", "gateway")}
                                           for t in transactions if isinstance(t, dict)]})

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
            return Rejected(f"{field}: " + "; ".join(_message(e) for e in errors))
        return payload

    def _execute(self, shop: str, query: str, variables: JSON, key: str | None) -> Reply:
        try:
            url, token = self._base_url_for(shop), self._token_for(shop)
        except LookupError as exc:
            return Rejected(f"shop {shop!r} is not configured: {exc}")
        if not token:
            return Rejected(f"no Admin API access token for {shop!r}")
        headers = {"X-Shopify-Access-Token": token, **({"Idempotency-Key": key} if key else {})}
        try:
            parsed = self._urls.get(url)
            if parsed is None:
                parsed = self._urls[url] = httpx.URL(url)
            response = self._client.post(parsed, json={"query": query, "variables": variables}, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Rejected(f"bad Admin API URL for {shop!r}: {exc}")
        except httpx.TimeoutException as exc:
            return RetryLater(f"timed out ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}")
        return self._reply(response, shop, query, variables)

    def _reply(self, response: httpx.Response, shop: str, query: str, variables: JSON) -> Reply:
        status = response.status_code
        if status in (408, 429) or status >= 500:
            now = _server_time(response) or self._clock.now()
            return RetryLater(f"HTTP {status}", retry_after(response.headers.get("Retry-After"), now))
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
            return _graphql_errors(body)
        data = body.get("data")
        return data if isinstance(data, dict) else RetryLater(f"HTTP {status} without data")


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, or an HTTP-date compared with ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def _server_time(response: httpx.Response) -> datetime | None:
    """The response's ``Date``: an HTTP-date Retry-After is best measured on the server's own clock."""
    return _http_date(response.headers.get("Date", ""))


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _graphql_errors(body: JSON) -> RetryLater | Rejected:
    errors = body["errors"]
    items: list[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in items if isinstance(e, dict)}
    text = "; ".join(_message(e) for e in items)
    if "THROTTLED" in codes:
        return RetryLater(f"throttled: {text}", throttle_wait(body))
    if TOO_COSTLY in codes:  # Shopify's message goes on to links about bulk operations: its first line says it
        return Rejected(f"{TOO_COSTLY}: {text.splitlines()[0] if text else 'the query costs too much'}")
    return RetryLater(text) if codes & TRANSIENT_CODES else Rejected(text)


def _message(error: object) -> str:
    if isinstance(error, dict):
        field = ".".join(str(f) for f in error.get("field") or [])
        return f"{field}: {error.get('message')}" if field else str(error.get("message"))
    return str(error)


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidPayload(f"refund amount is not a number: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidPayload(f"refund amount must be positive, got {value!r}")
    return amount


def _terms(node: JSON) -> JSON:
    discount = node.get("discount") or {}
    gets = discount.get("customerGets") or {}
    value, items = gets.get("value") or {}, gets.get("items") or {}
    money, combines = value.get("amount") or {}, discount.get("combinesWith") or {}
    return {
        "id": node.get("id"), "type": discount.get("__typename"), "title": discount.get("title"),
        "status": discount.get("status"),
        # Shopify gives a percentage as a fraction (0.25 is 25 % off); kept as it comes.
        "percentage": _decimal(value.get("percentage")), "amount": _decimal(money.get("amount")),
        "currency": money.get("currencyCode"), "applies_on_each_item": value.get("appliesOnEachItem"),
        "applies_to_all_items": bool(items.get("allItems")), "ends_at": _datetime(discount.get("endsAt")),
        "usage_limit": discount.get("usageLimit"), "usage_count": discount.get("asyncUsageCount"),
        "codes": [str(n.get("code")) for n in (discount.get("codes") or {}).get("nodes") or [] if n.get("code")],
        "combines_with": {"order": bool(combines.get("orderDiscounts")),
                          "product": bool(combines.get("productDiscounts")),
                          "shipping": bool(combines.get("shippingDiscounts"))},
    }


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _datetime(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC) if value else None
    except ValueError:
        return None
