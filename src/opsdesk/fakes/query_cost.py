"""The requested and actual cost of an Admin GraphQL query, by Shopify's published rule, and the shape of an answer.

Shopify prices a query before running it (shopify.dev, "GraphQL Admin API rate limits", "Cost
calculation") and refuses one whose requested cost is over ``MAX_COST`` (``MAX_COST_EXCEEDED``):

- a scalar or an enum costs 0, an object 1;
- a connection or a list sized by ``first``/``last`` (or a list of ``ids``) costs 2 plus that size times
  the cost of one item (1 for the item, plus what is selected on it), so nested sizes multiply; a
  connection's ``pageInfo`` is counted once, not per item;
- a field with several inline fragments (an interface or a union) costs its most expensive fragment;
- each root field of a mutation costs 10 plus what it selects.

The actual cost uses the same rule with the number of items the answer holds instead of the size asked.
This is a small parser for the queries opsdesk sends (fields, arguments, variables, inline fragments,
named fragments), not a GraphQL engine: aliases, directives other than skipped ones, and ``@include`` are
not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["MAX_COST", "Field", "Fragment", "Operation", "actual_cost", "parse", "requested_cost", "shape"]

MAX_COST = 1000
MUTATION_COST = 10
CONNECTION_ITEMS = ("nodes", "edges")
#: One token: a spread, a punctuator, a string, a number, a name; or a comma or a comment, which are dropped.
TOKEN = re.compile(r'\s*(?:(\.\.\.)|([{}()\[\]:!$=@])|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([_A-Za-z]\w*)'
                   r"|(,|#[^\n]*))")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    arguments: Mapping[str, object]  # a variable is kept as ("$", name)
    selections: tuple[Field | Fragment, ...] = ()


@dataclass(frozen=True, slots=True)
class Fragment:
    """An inline fragment (``... on T { }``) or a named one spread (``...Name``, resolved on parsing)."""

    on: str
    selections: tuple[Field | Fragment, ...]


@dataclass(frozen=True, slots=True)
class Operation:
    kind: str  # "query" or "mutation"
    selections: tuple[Field | Fragment, ...]


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


@lru_cache(maxsize=256)
def parse(query: str) -> Operation:
    """The document's operation, with named fragments resolved (remembered: the desk sends a few documents
    over and over, with different variables, and an operation is never changed)."""
    tokens = _Tokens(query)
    operation: tuple[str, _Raw] | None = None
    fragments: dict[str, tuple[str, _Raw]] = {}
    while tokens.peek():
        if tokens.peek() == "fragment":
            tokens.next()
            name, _, on = tokens.next(), tokens.expect("on"), tokens.next()
            fragments[name] = (on, _selection_set(tokens))
            continue
        kind = tokens.next() if tokens.peek() in ("query", "mutation") else "query"
        while tokens.peek() != "{":  # the operation's name, variable definitions and directives
            _skip(tokens)
        operation = (kind, _selection_set(tokens))
    if operation is None:
        raise ValueError("no operation in the query")
    return Operation(operation[0], _resolve(operation[1], fragments))


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


# -- cost --------------------------------------------------------------------------------------------


def _fields(selections: Sequence[Field | Fragment], flatten: bool = False) -> Iterator[Field]:
    for s in selections:
        if isinstance(s, Field):
            yield s
        elif flatten:
            yield from _fields(s.selections, flatten=True)


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


def _value(argument: object, variables: Mapping[str, Any]) -> Any:
    if isinstance(argument, tuple) and argument[:1] == ("$",):
        return variables.get(str(argument[1]))
    return argument


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


# -- shape -------------------------------------------------------------------------------------------


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


# -- the parser --------------------------------------------------------------------------------------

_Raw = tuple[Any, ...]  # selections before named fragments are resolved


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[str] = []
        position = 0
        while position < len(text):
            match = TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip():
                    raise ValueError(f"cannot read the query at {text[position:position + 20]!r}")
                break
            position = match.end()
            token = next((g for g in match.groups()[:5] if g is not None), None)
            if token is not None:
                self.items.append(token)
        self.at = 0

    def peek(self) -> str:
        return self.items[self.at] if self.at < len(self.items) else ""

    def next(self) -> str:
        token = self.peek()
        if not token:
            raise ValueError("the query ends too early")
        self.at += 1
        return token

    def expect(self, token: str) -> str:
        found = self.next()
        if found != token:
            raise ValueError(f"expected {token!r}, found {found!r}")
        return found


def _skip(tokens: _Tokens) -> None:
    """One token, or a whole bracketed group (variable definitions, directive arguments)."""
    opening = tokens.next()
    closing = {"(": ")", "[": "]", "{": "}"}.get(opening)
    while closing and tokens.peek() != closing:
        _skip(tokens)
    if closing:
        tokens.next()


def _selection_set(tokens: _Tokens) -> _Raw:
    tokens.expect("{")
    found: list[Any] = []
    while tokens.peek() != "}":
        if tokens.peek() == "...":
            tokens.next()
            if tokens.peek() == "on":
                tokens.next()
                on = tokens.next()
                _directives(tokens)
                found.append(("inline", on, _selection_set(tokens)))
            else:
                found.append(("spread", tokens.next()))
                _directives(tokens)
            continue
        name = tokens.next()
        if tokens.peek() == ":":  # an alias: the field is what follows
            tokens.next()
            name = tokens.next()
        arguments = _arguments(tokens) if tokens.peek() == "(" else {}
        _directives(tokens)
        children = _selection_set(tokens) if tokens.peek() == "{" else ()
        found.append(("field", name, arguments, children))
    tokens.next()
    return tuple(found)


def _directives(tokens: _Tokens) -> None:
    while tokens.peek() == "@":
        tokens.next()
        tokens.next()
        if tokens.peek() == "(":
            _skip(tokens)


def _arguments(tokens: _Tokens) -> dict[str, object]:
    tokens.expect("(")
    return _pairs(tokens, ")")


def _pairs(tokens: _Tokens, closing: str) -> dict[str, object]:
    """``name: value`` pairs up to ``closing`` (arguments, or an input object's fields)."""
    found: dict[str, object] = {}
    while tokens.peek() != closing:
        name = tokens.next()
        tokens.expect(":")
        found[name] = _literal(tokens)
    tokens.next()
    return found


def _literal(tokens: _Tokens) -> object:
    token = tokens.next()
    if token == "$":
        return ("$", tokens.next())
    if token == "[":
        items = []
        while tokens.peek() != "]":
            items.append(_literal(tokens))
        tokens.next()
        return items
    if token == "{":
        return _pairs(tokens, "}")
    if token.startswith('"'):
        return token[1:-1]
    return int(token) if re.fullmatch(r"-?\d+", token) else token


def _resolve(raw: _Raw, fragments: Mapping[str, tuple[str, _Raw]], seen: frozenset[str] = frozenset()
             ) -> tuple[Field | Fragment, ...]:
    found: list[Field | Fragment] = []
    for item in raw:
        if item[0] == "field":
            _, name, arguments, children = item
            found.append(Field(name, arguments, _resolve(children, fragments, seen)))
        elif item[0] == "inline":
            found.append(Fragment(item[1], _resolve(item[2], fragments, seen)))
        else:
            if item[1] not in fragments or item[1] in seen:
                raise ValueError(f"fragment {item[1]!r} is not defined once")
            on, children = fragments[item[1]]
            found.append(Fragment(on, _resolve(children, fragments, seen | {item[1]})))
    return tuple(found)
