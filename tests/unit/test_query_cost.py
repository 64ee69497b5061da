"""Every query the Shopify connector sends stays under Shopify's single-query cost limit, by Shopify's rule."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import opsdesk.connectors
from opsdesk.config import ReconcileConfig
from opsdesk.fakes.query_cost import MAX_COST, requested_cost

#: The largest page the configuration lets the sweep ask for.
PAGE = next(m.le for m in ReconcileConfig.model_fields["page_size"].metadata if hasattr(m, "le"))
VARIABLES = {"first": PAGE, "after": "at:1", "query": "updated_at:>='2026-01-01T00:00:00Z'",
             "id": "gid://shopify/Order/1", "code": "SAVE10"}
#: Every module of the Shopify connector, found by name: a query moved into a new module is checked all the same.
MODULES = [importlib.import_module(f"opsdesk.connectors.{m.name}")
           for m in pkgutil.iter_modules(opsdesk.connectors.__path__) if m.name.startswith("shopify")]
QUERIES = {name: value for module in MODULES for name, value in vars(module).items()
           if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))}


def test_the_connector_has_the_reconciliation_queries_and_its_actions() -> None:
    assert {"ORDERS_UPDATED", "ORDER", "ORDER_LINE_ITEMS", "REFUND_LINES", "DISPUTES_INITIATED"} <= set(QUERIES)
    assert {"REFUND", "FULFILLMENT_ORDERS", "HOLD", "RELEASE", "TAGS", "NOTE"} <= set(QUERIES)
    assert {"DISCOUNT_TERMS", "ORDER_PAYMENTS"} <= set(QUERIES)


def test_a_hold_and_a_release_cost_what_adr_0015_reserves_for_them() -> None:
    # The holds' read asks each hold's id, handle, reason and whether we placed it: scalars, no points.
    costs = {name: requested_cost(QUERIES[name], {"id": "gid://shopify/Order/1", "holdIds": ["h1", "h2"]})
             for name in ("FULFILLMENT_ORDERS", "HOLD", "RELEASE")}
    assert costs == {"FULFILLMENT_ORDERS": 153, "HOLD": 13, "RELEASE": 12}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_each_query_costs_at_most_shopifys_single_query_limit_at_the_largest_page(name: str) -> None:
    assert requested_cost(QUERIES[name], VARIABLES) <= MAX_COST


def test_the_reconciliation_reads_cost_what_adr_0015_says() -> None:
    costs = {name: requested_cost(QUERIES[name], VARIABLES) for name in (
        "ORDERS_UPDATED", "ORDER", "ORDER_LINE_ITEMS", "ORDER_DISCOUNT_APPLICATIONS", "REFUND_TRANSACTIONS",
        "REFUND_LINES", "REFUND_APART", "ORDER_FULFILLMENTS", "ORDER_REFUNDS", "ORDER_RETURNS",
        "RETURN_LINES", "DISPUTES_INITIATED", "FULFILLMENT_EVENTS")}
    assert PAGE == 100
    # ORDER and ORDER_REFUNDS read each refund's return, REFUND_APART its duties and order adjustments (ADR 0061).
    assert costs == {"ORDERS_UPDATED": 903, "ORDER": 995, "ORDER_LINE_ITEMS": 976, "ORDER_DISCOUNT_APPLICATIONS": 104,
                     "REFUND_TRANSACTIONS": 754, "REFUND_LINES": 904, "REFUND_APART": 160,
                     "ORDER_FULFILLMENTS": 753, "ORDER_REFUNDS": 503,
                     "ORDER_RETURNS": 964, "RETURN_LINES": 404, "DISPUTES_INITIATED": 404,
                     "FULFILLMENT_EVENTS": 54}


@pytest.mark.parametrize(("query", "cost"), [
    ("{ shop { name } }", 1),  # an object 1, a scalar 0
    ("query($n: Int!) { orders(first: $n) { nodes { id } } }", 2 + 10 * 1),  # a connection: 2 + first x item
    ("{ orders(first: 10) { pageInfo { hasNextPage } nodes { id customer { id } } } }", 2 + 1 + 10 * 2),
    ("{ orders(first: 10) { nodes { lineItems(first: 5) { nodes { id } } } } }", 2 + 10 * (1 + 2 + 5 * 1)),  # nested
    ("{ order(id: 1) { refunds(first: 3) { id note } } }", 1 + 2 + 3 * 1),  # a list sized by first
    ("{ node(id: 1) { ... on Order { customer { id } } ... on Refund { order { id customer { id } } } } }", 1 + 2),
    ("mutation { tagsAdd(id: 1, tags: [\"a\"]) { node { id } userErrors { field } } }", 10 + 2),
    ("query { a: order(id: 1) { ...F } } fragment F on Order { customer { id } }", 2),
])
def test_the_cost_rule(query: str, cost: int) -> None:
    assert requested_cost(query, {"n": 10}) == cost
