"""The reconciliation sweep's reads of an order's refunds (ADR 0015, 0041, 0055, 0061): the fields ``ORDER`` reads of
each, and the queries that read what did not fit in it, page by page, from a cursor.

``ORDER`` reads each refund's return (``Refund.return``, an object: one point a refund, 995 of Shopify's 1,000), so a
recovered refund made from a return is tied to it as its webhook's is. What of a refund's money is not its lines'
(its shipping lines, duties and order adjustments) is not in ``ORDER`` (even ``refundShippingLines(first: 1)`` on
its 5 refunds would add 40): it is read by ``REFUND_APART``, one query a refund that names lines (160 points), since
only such a refund's money is split between its lines and the rest (``RefundFor.paid``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsdesk.domain.outbox import Rejected, RetryLater

JSON = dict[str, Any]
#: One query of the sweep's for the shop (query, variables): its ``data``, or why there is none.
Read = Callable[[str, JSON], "JSON | RetryLater | Rejected"]
#: A connection's nodes to its end (query, gid, path to it, the page read already), or why not.
Rest = Callable[[str, str, tuple[str, str], object], "list[JSON] | RetryLater | Rejected"]

PAGE = "pageInfo { hasNextPage endCursor }"
#: How many refunds ``ORDER`` reads with their connections (the rest: ``ORDER_REFUNDS``, then one by one).
DETAIL_REFUNDS = 5
REFUND_TRANSACTION = "id kind status amountSet { shopMoney { amount currencyCode } }"
#: ``Refund.return``: the return the refund was made from, null when none (ADR 0061).
REFUND_RETURN = "return { id }"
REFUND_LINE = "id quantity lineItem { id } subtotalSet { shopMoney { amount currencyCode } } " \
              "totalTaxSet { shopMoney { amount } }"
#: ``RefundShippingLine``: the shipping given back, before its tax, and its tax (non-null MoneyBags, API 2024-10 on).
REFUND_SHIPPING = "subtotalAmountSet { shopMoney { amount currencyCode } } taxAmountSet { shopMoney { amount } }"
#: ``Refund.duties`` (a list without a cursor or a size: read whole) and
#: ``Refund.orderAdjustments`` (a connection; more than ``ADJUSTMENTS`` on one refund: the order is incomplete).
ADJUSTMENTS = 10
REFUND_DUTIES = "duties { amountSet { shopMoney { amount } } }"
REFUND_ADJUSTMENTS = f"orderAdjustments(first: {ADJUSTMENTS}) {{ pageInfo {{ hasNextPage endCursor }} " \
                     "nodes { amountSet { shopMoney { amount } } taxAmountSet { shopMoney { amount } } } }"

#: The rest of a refund's connections, from a cursor (754, 904 and 160 points; ``REFUND_APART``'s first page gives
#: the refund's duties and order adjustments, and its shipping lines from the start).
REFUND_TRANSACTIONS = f"""query RefundTransactions($id: ID!, $after: String) {{
  refund(id: $id) {{ transactions(first: 250, after: $after) {{ {PAGE} nodes {{ {REFUND_TRANSACTION} }} }} }}
}}"""
REFUND_LINES = f"""query RefundLines($id: ID!, $after: String) {{
  refund(id: $id) {{ refundLineItems(first: 150, after: $after) {{ {PAGE} nodes {{ {REFUND_LINE} }} }} }}
}}"""
REFUND_APART = f"""query RefundApart($id: ID!, $after: String) {{
  refund(id: $id) {{ {REFUND_DUTIES} {REFUND_ADJUSTMENTS}
    refundShippingLines(first: 20, after: $after) {{ {PAGE} nodes {{ {REFUND_SHIPPING} }} }} }}
}}"""
#: ``Order.refunds`` is a list without a cursor: when ``ORDER`` filled it, it is read again as long as the cost
#: allows (503 points); an order with that many or more is said to be incomplete.
ALL_REFUNDS = 250
ORDER_REFUNDS = f"""query OrderRefunds($id: ID!) {{
  order(id: $id) {{ refunds(first: {ALL_REFUNDS}) {{ id legacyResourceId createdAt note {REFUND_RETURN} }} }}
}}"""
#: Read from the start by ``Rest``: a refund found by ORDER_REFUNDS, whose connections were not read yet.
UNREAD: JSON = {"pageInfo": {"hasNextPage": True, "endCursor": None}}


def read_refunds(read: Read, rest: Rest, order_gid: str, node: JSON) -> RetryLater | Rejected | None:
    """All the order's refunds when ``ORDER``'s read of them was full; each one's transactions and lines, and for a
    refund of lines what of its money was not theirs (``read_apart``). ``node["incomplete"]`` says what could not be
    read whole."""
    refunds: list[JSON] = list(node.get("refunds") or [])
    if len(refunds) >= DETAIL_REFUNDS:
        reply = read(ORDER_REFUNDS, {"id": order_gid})
        if not isinstance(reply, dict):
            return reply
        known = {r.get("id") for r in refunds}
        every = list((reply.get("order") or {}).get("refunds") or [])
        refunds += [{**r, "transactions": UNREAD, "refundLineItems": UNREAD} for r in every
                    if r.get("id") not in known]
        if len(every) >= ALL_REFUNDS:
            node["incomplete"] = f"{ALL_REFUNDS} refunds or more: not all of them can be read"
    for refund in refunds:
        for field, query in (("transactions", REFUND_TRANSACTIONS), ("refundLineItems", REFUND_LINES)):
            nodes = rest(query, str(refund.get("id")), ("refund", field), refund.get(field, UNREAD))
            if not isinstance(nodes, list):
                return nodes
            refund[field] = {"nodes": nodes}
        failed = read_apart(read, rest, node, refund) if refund["refundLineItems"]["nodes"] else None
        if failed is not None:
            return failed
    node["refunds"] = refunds
    return None


def read_apart(read: Read, rest: Rest, node: JSON, refund: JSON) -> RetryLater | Rejected | None:
    """A refund of lines' duties, order adjustments and shipping lines (``REFUND_APART``: its first page gives all
    three, the shipping lines' further pages follow by cursor). A refund of no line is not read: what of its money
    went elsewhere changes nothing (ADR 0055, 0061)."""
    gid = str(refund.get("id"))
    reply = read(REFUND_APART, {"id": gid, "after": None})
    if not isinstance(reply, dict):
        return reply
    found = _object(reply.get("refund"))
    adjustments = _object(found.get("orderAdjustments"))
    if (adjustments.get("pageInfo") or {}).get("hasNextPage"):
        node["incomplete"] = f"refund {gid} has more than {ADJUSTMENTS} order adjustments: not all can be read"
    shipping = rest(REFUND_APART, gid, ("refund", "refundShippingLines"), found.get("refundShippingLines"))
    if not isinstance(shipping, list):
        return shipping
    refund.update(duties=list(found.get("duties") or []), orderAdjustments={"nodes": adjustments.get("nodes") or []},
                  refundShippingLines={"nodes": shipping})
    return None


def _object(value: object) -> JSON:
    return value if isinstance(value, dict) else {}
