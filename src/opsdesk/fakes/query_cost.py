"""The requested and actual cost of an Admin GraphQL query, by Shopify's published rule.

Shopify prices a query before running it (shopify.dev, "GraphQL Admin API rate limits", "Cost
calculation") and refuses one whose requested cost is over ``MAX_COST`` (``MAX_COST_EXCEEDED``):

- a scalar or an enum costs 0, an object 1;
- a connection or a list sized by ``first``/``last`` (or a list of ``ids``) costs 2 plus that size times
  the cost of one item (1 for the item, plus what is selected on it), so nested sizes multiply; a
  connection's ``pageInfo`` is counted once, not per item;
- a field with several inline fragments (an interface or a union) costs its most expensive fragment;
- each root field of a mutation costs 10 plus what it selects.

The actual cost uses the same rule with the number of items the answer holds instead of the size asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsdesk.fakes.query_document import CONNECTION_ITEMS, Field, Fragment, _fields, _value, parse

__all__ = ["MAX_COST", "actual_cost", "requested_cost"]

MAX_COST = 1000
MUTATION_COST = 10


def requested_cost(query: str, variables: Mapping[str, Any]) -> int:
    """What Shopify charges before running ``query`` with ``variables``; raises ValueError if unreadable."""
    operation = parse(query)
    if operation.kind == "mutation":
        return sum(MUTATION_COST + _requested(f.selections, variables) for f in _fields(operation.selections))
    return _requested(operation.selections, variables)


def actual_cost(query: str, variables: Mapping[str, Any], data: Mapping[str, Any]) -> int:
    """What Shopify charges after running it: the same rule over the items ``data`` holds."""
    operation = parse(query)
    if operation.kind == "mutation":
        return requested_cost(query, variables)
    return _actual(operation.selections, data)


# -- cost --------------------------------------------------------------------------------------------


def _requested(selections: Sequence[Field | Fragment], variables: Mapping[str, Any]) -> int:
    """The fields' costs, plus the dearest of the type-conditioned fragments (only one applies)."""
    plain = sum(_field(f, variables) for f in _fields(selections))
    fragments = [_requested(s.selections, variables) for s in selections if isinstance(s, Fragment)]
    return plain + max(fragments, default=0)


def _field(f: Field, variables: Mapping[str, Any]) -> int:
    if not f.selections:
        return 0
    size = _size(f, variables)
    if size is None:
        return 1 + _requested(f.selections, variables)
    items = [s for s in _fields(f.selections) if s.name in CONNECTION_ITEMS]
    if not items:  # a list: each item is the object selected
        return 2 + size * (1 + _requested(f.selections, variables))
    rest = [s for s in f.selections if not (isinstance(s, Field) and s.name in CONNECTION_ITEMS)]
    item = max(_requested(i.selections, variables) for i in items)
    return 2 + _requested(rest, variables) + size * (1 + item)


def _size(f: Field, variables: Mapping[str, Any]) -> int | None:
    for name in ("first", "last", "ids"):
        if name in f.arguments:
            value = _value(f.arguments[name], variables)
            if value is None:
                raise ValueError(f"{f.name}({name}:) has no value")
            return len(value) if isinstance(value, list) else int(value)
    return None


def _actual(selections: Sequence[Field | Fragment], data: Mapping[str, Any]) -> int:
    total = 0
    for f in _fields(selections, flatten=True):
        value = data.get(f.name) if isinstance(data, Mapping) else None
        if not f.selections or value is None:
            continue
        items = [s for s in _fields(f.selections) if s.name in CONNECTION_ITEMS]
        if isinstance(value, list):
            total += 2 + sum(1 + _actual(f.selections, v) for v in value)
        elif items and isinstance(value.get(items[0].name), list):
            rest = [s for s in f.selections if not (isinstance(s, Field) and s.name in CONNECTION_ITEMS)]
            total += 2 + _actual(rest, value) + sum(1 + _actual(items[0].selections, v)
                                                    for v in value[items[0].name])
        else:
            total += 1 + _actual(f.selections, value)
    return total
