"""The reconciliation sweep's reads of the Admin GraphQL API, paced by each shop's cost bucket (ADR 0015).

Queries only, so repeating one is safe; each answers the page or the order read, or RetryLater (with the
provider's wait: Retry-After, the throttle's cost) or Rejected, as the connector's other calls. Before sending
one, it waits (with the connector's sleeper) until the shop's cost bucket, as the connector's last answer
from the shop left it and refilled since, holds the query's requested cost plus the reserve kept for the
desk's actions (``shopify_bucket``). ``ShopifyAdmin`` sends them through its own client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from opsdesk.connectors.shopify_bucket import CostBuckets
from opsdesk.connectors.shopify_refund_queries import (
    DETAIL_REFUNDS,
    PAGE,
    REFUND_LINE,
    REFUND_RETURN,
    REFUND_TRANSACTION,
    UNREAD,
    read_refunds,
)
from opsdesk.domain.outbox import Rejected, RetryLater
from opsdesk.ports import Clock

JSON = dict[str, Any]
#: One GraphQL round trip: the ``data`` object (or a mutation's payload), or why there is none.
Reply = JSON | RetryLater | Rejected
#: Sends one query (shop, query, variables, idempotency key: None for a query) and reads its answer.
Execute = Callable[[str, str, JSON, str | None], Reply]

#: The reconciliation sweep (services/reconcile.py) reads in two steps, because Shopify refuses a query whose
#: requested cost is over 1,000 points (``MAX_COST_EXCEEDED``): a connection or a list costs 2 plus its
#: ``first`` times one item, so nested lists multiply (the whole order at 100 a page was 673,703 points).
#: First a cheap listing of the orders changed since a time, oldest change first, with what tells whether
#: the desk is behind: the order's ``updatedAt`` and its first ``LISTED`` refunds and fulfilments (scalars
#: cost nothing). 903 points at 100 orders a page, the most ``reconcile.page_size`` allows. Returns are not
#: listed (even ``returns(first: 1)`` would take the page to 1,203 points): the order's ``returnStatus``, an
#: enum and free, says whether it has any, and an order that has is read whole.
LISTED = 2
ORDERS_UPDATED = f"""query OrdersUpdated($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id legacyResourceId updatedAt returnStatus
      refunds(first: {LISTED}) {{ id legacyResourceId createdAt }}
      fulfillments(first: {LISTED}) {{ id legacyResourceId status displayStatus createdAt updatedAt }} }}
  }}
}}"""

#: Then the whole order, one a query, for the orders the desk is behind on or that have returns (995
#: points): its fulfilments and refunds (a refund's money as the ``refunds/create`` webhook gives it:
#: transactions, else refunded lines; each line's subtotal and tax, ADR 0041 amended; its return, ADR 0061),
#: returns (what the ``returns/request`` webhook gives: status, lines with the sold line, the reason and the
#: notes), lines (with what was paid for them: their discount allocations and tax lines, and whether the prices
#: include the tax, ADR 0051) and discounts. What does not fit is read by the queries below, page by page.
FULFILMENT = "id legacyResourceId status displayStatus createdAt updatedAt " \
             "trackingInfo(first: 1) { company number url } location { legacyResourceId }"
#: A line's tax lines are a list without a cursor: a line that fills it may have more, and its tax is not known.
TAX_LINES = 5
LINE_ITEM = "id sku title quantity variant { id } product { id } originalUnitPriceSet { shopMoney { amount } } " \
            "totalDiscountSet { shopMoney { amount } } " \
            "discountAllocations { allocatedAmountSet { shopMoney { amount } } } " \
            f"taxLines(first: {TAX_LINES}) {{ priceSet {{ shopMoney {{ amount }} }} }}"
DISCOUNT_APPLICATION = "__typename ... on DiscountCodeApplication { code } " \
    "... on AutomaticDiscountApplication { title } ... on ManualDiscountApplication { title } " \
    "... on ScriptDiscountApplication { title }"
RETURN_LINE = "id quantity returnReason returnReasonNote customerNote returnReasonDefinition { handle name } " \
              "... on ReturnLineItem { fulfillmentLineItem { id lineItem { id } } }"
DETAIL_FULFILMENTS, DETAIL_RETURNS, DETAIL_RETURN_LINES, DETAIL_LINES = 10, 3, 5, 18
RETURN = "id name status createdAt " \
         f"returnLineItems(first: {DETAIL_RETURN_LINES}) {{ {PAGE} nodes {{ {RETURN_LINE} }} }}"
ORDER = f"""query Order($id: ID!) {{
  order(id: $id) {{ id legacyResourceId name email createdAt updatedAt cancelledAt cancelReason closedAt
    displayFinancialStatus displayFulfillmentStatus tags sourceName currencyCode discountCodes paymentGatewayNames
    taxesIncluded totalPriceSet {{ shopMoney {{ amount currencyCode }} }} subtotalPriceSet {{ shopMoney {{ amount }} }}
    totalDiscountsSet {{ shopMoney {{ amount }} }} customer {{ id createdAt }}
    shippingAddress {{ name address1 address2 city provinceCode zip countryCodeV2 phone }}
    discountApplications(first: 10) {{ {PAGE} nodes {{ {DISCOUNT_APPLICATION} }} }}
    fulfillments(first: {DETAIL_FULFILMENTS}) {{ {FULFILMENT} }}
    refunds(first: {DETAIL_REFUNDS}) {{ id legacyResourceId createdAt note {REFUND_RETURN}
      transactions(first: 5) {{ {PAGE} nodes {{ {REFUND_TRANSACTION} }} }}
      refundLineItems(first: 8) {{ {PAGE} nodes {{ {REFUND_LINE} }} }} }}
    returns(first: {DETAIL_RETURNS}) {{ {PAGE} nodes {{ {RETURN} }} }}
    lineItems(first: {DETAIL_LINES}) {{ {PAGE} nodes {{ {LINE_ITEM} }} }} }}
}}"""
#: The rest of a connection, from a cursor (976 and 104 points; a refund's, ``shopify_refund_queries``).
ORDER_LINE_ITEMS = f"""query OrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{ lineItems(first: 36, after: $after) {{ {PAGE} nodes {{ {LINE_ITEM} }} }} }}
}}"""
ORDER_DISCOUNT_APPLICATIONS = f"""query OrderDiscountApplications($id: ID!, $after: String) {{
  order(id: $id) {{ discountApplications(first: 100, after: $after) {{ {PAGE} nodes {{ {DISCOUNT_APPLICATION} }} }} }}
}}"""
#: An order's further returns (964 points) and a return's further lines (404).
ORDER_RETURNS = f"""query OrderReturns($id: ID!, $after: String) {{
  order(id: $id) {{ returns(first: 40, after: $after) {{ {PAGE} nodes {{ {RETURN} }} }} }}
}}"""
RETURN_LINES = f"""query ReturnLines($id: ID!, $after: String) {{
  return(id: $id) {{ returnLineItems(first: 100, after: $after) {{ {PAGE} nodes {{ {RETURN_LINE} }} }} }}
}}"""
#: ``Order.fulfillments`` and ``Order.refunds`` are lists without cursors: when the order's query filled one,
#: it is read again as long as the cost allows (753 and 253 points, ``shopify_refund_queries``); an order with
#: that many or more is said to be incomplete rather than read as if it had only those.
ALL_FULFILMENTS = 150
ORDER_FULFILLMENTS = f"""query OrderFulfillments($id: ID!) {{
  order(id: $id) {{ fulfillments(first: {ALL_FULFILMENTS}) {{ {FULFILMENT} }} }}
}}"""

#: The reconciliation sweep's disputes: those initiated since a time. Shopify's dispute search has no
#: ``updated_at`` (only ``id``, ``initiated_at`` and ``status``), so the sweep re-reads a window of them.
DISPUTES_INITIATED = """query DisputesInitiated($first: Int!, $after: String, $query: String!) {
  shopifyPaymentsAccount {
    disputes(first: $first, after: $after, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes { id legacyResourceId status type initiatedAt evidenceDueBy evidenceSentOn finalizedOn
        amount { amount currencyCode } reasonDetails { reason networkReasonCode } order { legacyResourceId } }
    }
  }
}"""
#: A fulfilment's carrier events (``Fulfillment.events``), oldest first, 50 a page (53 points): the sweep reads them
#: for each fulfilment changed in its window at a carrier's status, to replay the ``fulfillment_events/create``
#: webhooks that were lost (ADR 0040). Not in ``ORDER``: ``events(first: 5)`` on its 10 fulfilments would add 70
#: points a whole read, and the fulfilments whose events matter are mostly on orders the desk is not behind on.
EVENTS = 50
#: The most pages of a fulfilment's carrier events read (1,000 events); one with more is read that far, and its
#: listing is not complete: the sweep then takes no held scan missing from it for deleted (ADR 0065).
EVENT_PAGES = 20
FULFILMENT_EVENT = "id status message happenedAt createdAt estimatedDeliveryAt city province country zip address1 " \
                   "latitude longitude"
FULFILLMENT_EVENTS = f"""query FulfillmentEvents($id: ID!, $after: String) {{
  fulfillment(id: $id) {{ events(first: {EVENTS}, after: $after, sortKey: HAPPENED_AT) {{ {PAGE}
    nodes {{ {FULFILMENT_EVENT} }} }} }}
}}"""

#: A shop without Shopify Payments (``shopifyPaymentsAccount`` null) has no disputes to read.
NO_DISPUTES: JSON = {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


class SweepReads:
    """The sweep's queries for any number of shops, through one connector's ``execute`` and cost buckets."""

    #: How many of an order's refunds and fulfilments ``orders_updated`` lists (an order with that many may
    #: have more: only ``order`` reads them all).
    listed = LISTED

    def __init__(self, execute: Execute, buckets: CostBuckets, clock: Clock, sleep: Callable[[float], None]
                 ) -> None:
        self._execute = execute
        self._buckets = buckets
        self._clock = clock
        self._sleep = sleep  # the pacing waits with it (a test's sleeper moves its clock instead)

    def orders_updated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the orders updated at or after ``since``: ``{"nodes", "pageInfo"}`` or why not.

        A query, so repeating it is safe; RetryLater carries the provider's wait (Retry-After, throttle).
        """
        reply = self._search(shop, ORDERS_UPDATED, f"updated_at:>='{_stamp(since)}'", after, first)
        if not isinstance(reply, dict):
            return reply
        orders = reply.get("orders")
        return orders if isinstance(orders, dict) else RetryLater("orders query answered without orders")

    def order(self, shop: str, order_gid: str) -> Reply:
        """The whole order as the reconciliation sweep reads it, every connection followed to its end.

        Its ``refunds`` and ``fulfillments`` are lists without cursors: an order with more than Shopify lets
        one query read (ALL_REFUNDS, ALL_FULFILMENTS) comes with ``incomplete`` saying so, as does one that
        is gone (``{"id", "incomplete"}``). A query, so repeating it is safe; RetryLater or Rejected as the
        other queries, for whichever of its reads failed.
        """
        reply = self._read(shop, ORDER, {"id": order_gid})
        if not isinstance(reply, dict):
            return reply
        node = reply.get("order")
        if not isinstance(node, dict):
            return {"id": order_gid, "incomplete": f"no order {order_gid} in {shop}"}
        failed = (self._read_lists(shop, order_gid, node) or self._read_refunds(shop, order_gid, node)
                  or self._read_returns(shop, order_gid, node))
        return failed or node

    def _read_lists(self, shop: str, order_gid: str, node: JSON) -> RetryLater | Rejected | None:
        """The rest of the order's lines and discounts, and all its fulfilments when the first read was full."""
        for field, query in (("lineItems", ORDER_LINE_ITEMS), ("discountApplications", ORDER_DISCOUNT_APPLICATIONS)):
            rest = self._rest(shop, query, order_gid, ("order", field), node.get(field))
            if not isinstance(rest, list):
                return rest
            node[field] = {"nodes": rest}
        for line in node["lineItems"]["nodes"]:
            if isinstance(line, dict) and (not isinstance(line.get("taxLines"), list)
                                           or len(line["taxLines"]) >= TAX_LINES):
                line["taxLines"] = None  # maybe more than were read: what was paid for the line is not known
        if len(node.get("fulfillments") or []) < DETAIL_FULFILMENTS:
            return None
        reply = self._read(shop, ORDER_FULFILLMENTS, {"id": order_gid})
        if not isinstance(reply, dict):
            return reply
        node["fulfillments"] = found = list((reply.get("order") or {}).get("fulfillments") or [])
        if len(found) >= ALL_FULFILMENTS:
            node["incomplete"] = f"{ALL_FULFILMENTS} fulfilments or more: not all of them can be read"
        return None

    def _read_refunds(self, shop: str, order_gid: str, node: JSON) -> RetryLater | Rejected | None:
        """All the order's refunds, each read to its end (``shopify_refund_queries.read_refunds``)."""
        return read_refunds(partial(self._read, shop), partial(self._rest, shop), order_gid, node)

    def _read_returns(self, shop: str, order_gid: str, node: JSON) -> RetryLater | Rejected | None:
        """All the order's returns (a connection: its cursor followed), and each return's lines to their end."""
        returns = self._rest(shop, ORDER_RETURNS, order_gid, ("order", "returns"), node.get("returns"))
        if not isinstance(returns, list):
            return returns
        for found in returns:
            lines = self._rest(shop, RETURN_LINES, str(found.get("id")), ("return", "returnLineItems"),
                               found.get("returnLineItems"))
            if not isinstance(lines, list):
                return lines
            found["returnLineItems"] = {"nodes": lines}
        node["returns"] = {"nodes": returns}
        return None

    def _rest(self, shop: str, query: str, gid: str, path: tuple[str, str], page: object
              ) -> list[JSON] | RetryLater | Rejected:
        """A connection's nodes: those of ``page`` (already read), then the next pages from its cursor."""
        found = self._connection(shop, query, gid, path, page)
        return found[0] if isinstance(found, tuple) else found

    def _connection(self, shop: str, query: str, gid: str, path: tuple[str, str], page: object, most: int = 0
                    ) -> tuple[list[JSON], bool] | RetryLater | Rejected:
        """``_rest``, at most ``most`` reads (0: no limit), and whether the nodes are all there are: read to the
        last page, and of an owner (``path[0]``) Shopify has (one that is gone has none, and they are not all)."""
        page = page if isinstance(page, dict) else {}
        nodes, info, owned, reads = list(page.get("nodes") or []), page.get("pageInfo") or {}, True, 0
        while info.get("hasNextPage") and owned:
            if most and reads >= most:
                return nodes, False
            cursor = info.get("endCursor")
            reply = self._read(shop, query, {"id": gid, "after": cursor})
            if not isinstance(reply, dict):
                return reply
            reads, owned = reads + 1, isinstance(reply.get(path[0]), dict)
            page = (reply.get(path[0]) or {}).get(path[1]) or {}
            nodes += page.get("nodes") or []
            info = page.get("pageInfo") or {}
            if info.get("hasNextPage") and info.get("endCursor") in (None, cursor):
                return Rejected(f"{path[1]} of {gid}: the next page has no new cursor")
        return nodes, owned

    def disputes_initiated(self, shop: str, since: datetime, after: str | None, first: int) -> Reply:
        """One page of the Shopify Payments disputes initiated at or after ``since``, or why not.

        A query, as ``orders_updated``; a shop without a Shopify Payments account has none (an empty page).
        """
        reply = self._search(shop, DISPUTES_INITIATED, f"initiated_at:>='{_stamp(since)}'", after, first)
        if not isinstance(reply, dict):
            return reply
        account = reply.get("shopifyPaymentsAccount")
        if account is None:
            return dict(NO_DISPUTES)
        disputes = account.get("disputes") if isinstance(account, dict) else None
        return disputes if isinstance(disputes, dict) else RetryLater("disputes query answered without disputes")

    def fulfillment_events(self, shop: str, fulfillment_gid: str) -> Reply:
        """Every carrier event of a fulfilment, oldest first, or why not: ``{"nodes", "complete"}``, complete when
        the fulfilment was found and its events read to their last page, in at most ``EVENT_PAGES`` reads (none and
        not complete for a fulfilment that is gone). Queries only, so repeating it is safe."""
        events = self._connection(shop, FULFILLMENT_EVENTS, fulfillment_gid, ("fulfillment", "events"), UNREAD,
                                  EVENT_PAGES)
        return {"nodes": events[0], "complete": events[1]} if isinstance(events, tuple) else events

    def _search(self, shop: str, query: str, search: str, after: str | None, first: int) -> Reply:
        """One page of a connection filtered with Shopify's search syntax (no idempotency key: a query)."""
        return self._read(shop, query, {"first": first, "after": after, "query": search})

    def paced(self, shop: str) -> float:
        """Seconds the reads have waited so far for the shop's cost bucket, before sending."""
        return self._buckets.paced(shop)

    def _read(self, shop: str, query: str, variables: JSON) -> Reply:
        """A query of the sweep's, sent once the shop's bucket holds its cost plus the reserve."""
        wait = self._buckets.wait(shop, query, variables.get("first"), self._clock.now())
        if wait > 0:
            self._sleep(wait)
            self._buckets.paced(shop, wait)
        return self._execute(shop, query, variables, None)


def _stamp(moment: datetime) -> str:
    """A time as Shopify's search syntax takes it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
