"""The shape of an answer to an Admin GraphQL query: a full object cut to the fields and page sizes asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsdesk.fakes.query_document import CONNECTION_ITEMS, Field, Fragment, _fields, _value

__all__ = ["shape"]

def shape(selections: Sequence[Field | Fragment], value: Any, variables: Mapping[str, Any]) -> Any:
    """``value`` (a full object) cut to what ``selections`` ask: only the fields named, and each list or
    connection sized by its ``first`` (a connection from its ``after`` cursor, with its ``pageInfo``)."""
    if not isinstance(value, dict):
        return value
    if "__typename" in value:  # the fragments that do not apply to this object's type are left out
        selections = [s for s in selections if not isinstance(s, Fragment) or s.on == value["__typename"]]
    found: dict[str, Any] = {}
    for f in _fields(selections, flatten=True):
        found[f.name] = _shape_field(f, value.get(f.name), variables)
    return found


def _shape_field(f: Field, value: Any, variables: Mapping[str, Any]) -> Any:
    if not f.selections or value is None:
        return value
    first = _value(f.arguments.get("first"), variables)
    if isinstance(value, list):
        items = value if first is None else value[: int(first)]
        return [shape(f.selections, v, variables) for v in items]
    inner = next((s for s in _fields(f.selections) if s.name in CONNECTION_ITEMS), None)
    if inner is None or not isinstance(value.get("nodes"), list):
        return shape(f.selections, value, variables)
    after = _value(f.arguments.get("after"), variables)
    start = int(str(after).rpartition(":")[2]) if after else 0
    nodes: list[Any] = value["nodes"]
    page = nodes[start:] if first is None else nodes[start: start + int(first)]
    end = start + len(page)
    full = {**value, "nodes": page, "edges": [{"node": n, "cursor": f"at:{start + i + 1}"} for i, n in enumerate(page)],
            "pageInfo": {"hasNextPage": end < len(nodes), "endCursor": f"at:{end}" if page else after}}
    return shape(f.selections, full, variables)
