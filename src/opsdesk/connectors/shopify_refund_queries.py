"""The reconciliation sweep's reads of an order's refunds (ADR 0015, 0041, 0055): the fields ``ORDER`` reads of each,
and the queries that read what did not fit in it, page by page, from a cursor.

A refund's shipping lines are not in ``ORDER`` (which is at 990 of Shopify's 1,000 points: even
``refundShippingLines(first: 1)`` on its 5 refunds would add 40): they are read by ``REFUND_SHIPPING_LINES``, one
query a refund that names lines (104 points), since only such a refund's money is split between its lines and
shipping (``RefundFor.paid``).
"""

from __future__ import annotations

PAGE = "pageInfo { hasNextPage endCursor }"
REFUND_TRANSACTION = "id kind status amountSet { shopMoney { amount currencyCode } }"
REFUND_LINE = "id quantity lineItem { id } subtotalSet { shopMoney { amount currencyCode } } " \
              "totalTaxSet { shopMoney { amount } }"
#: ``RefundShippingLine``: the shipping given back, before its tax, and its tax (non-null MoneyBags, API 2024-10 on).
REFUND_SHIPPING = "subtotalAmountSet { shopMoney { amount currencyCode } } taxAmountSet { shopMoney { amount } }"

#: The rest of a refund's connections, from a cursor (754, 904 and 104 points).
REFUND_TRANSACTIONS = f"""query RefundTransactions($id: ID!, $after: String) {{
  refund(id: $id) {{ transactions(first: 250, after: $after) {{ {PAGE} nodes {{ {REFUND_TRANSACTION} }} }} }}
}}"""
REFUND_LINES = f"""query RefundLines($id: ID!, $after: String) {{
  refund(id: $id) {{ refundLineItems(first: 150, after: $after) {{ {PAGE} nodes {{ {REFUND_LINE} }} }} }}
}}"""
REFUND_SHIPPING_LINES = f"""query RefundShippingLines($id: ID!, $after: String) {{
  refund(id: $id) {{ refundShippingLines(first: 20, after: $after) {{ {PAGE} nodes {{ {REFUND_SHIPPING} }} }} }}
}}"""
#: ``Order.refunds`` is a list without a cursor: when ``ORDER`` filled it, it is read again as long as the cost
#: allows (253 points); an order with that many or more is said to be incomplete.
ALL_REFUNDS = 250
ORDER_REFUNDS = f"""query OrderRefunds($id: ID!) {{
  order(id: $id) {{ refunds(first: {ALL_REFUNDS}) {{ id legacyResourceId createdAt note }} }}
}}"""
