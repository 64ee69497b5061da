"""The Shopify stand-in's reading of a request: the shop, the GraphQL operation and its variables, the idempotency
keys, the requested cost; and ``Call``, the record the stand-in keeps of each request (``shopify_admin``).

It reads the operation's root field and its variables; it is not a GraphQL engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from opsdesk.fakes.query_cost import requested_cost

__all__ = ["PATH", "Call", "Request", "parse_request", "requested_cost_of"]

JSON = dict[str, Any]
PATH = re.compile(r"^(?:/shops/(?P<shop>[^/]+))?/admin/api/[^/]+/graphql\.json$")
ROOT_FIELD = re.compile(r"^\s*(?:(?:query|mutation)\b[^{]*)?\{\s*(\w+)")
IDEMPOTENT = re.compile(r'@idempotent\(\s*key:\s*(?:\$(\w+)|"([^"]*)")\s*\)')


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


@dataclass(frozen=True, slots=True)
class Request:
    shop: str
    query: str
    variables: JSON
    operation: str
    key: str
    idempotent_key: str


def requested_cost_of(request: Request) -> int | None:
    """The request's requested cost; None when its query cannot be read."""
    try:
        return requested_cost(request.query, request.variables) if request.query else 0
    except (ValueError, TypeError):
        return None


def parse_request(path: str, body: bytes, key: str) -> Request | None:
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
    return Request(
        unquote(match.group("shop") or ""),
        query,
        variables,
        root.group(1) if root else "",
        key,
        idempotent_key,
    )
