"""An Admin GraphQL query document read into its operation: the fields, arguments and fragments it selects.

This is a small parser for the queries opsdesk sends (fields, arguments, variables, inline fragments,
named fragments), not a GraphQL engine: aliases, directives other than skipped ones, and ``@include`` are
not evaluated. The fake prices what it reads (``query_cost``) and cuts its answers to it (``query_shape``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["Field", "Fragment", "Operation", "parse"]

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


# -- selections, as query_cost and query_shape walk them ------------------------------------------


def _fields(selections: Sequence[Field | Fragment], flatten: bool = False) -> Iterator[Field]:
    for s in selections:
        if isinstance(s, Field):
            yield s
        elif flatten:
            yield from _fields(s.selections, flatten=True)


def _value(argument: object, variables: Mapping[str, Any]) -> Any:
    if isinstance(argument, tuple) and argument[:1] == ("$",):
        return variables.get(str(argument[1]))
    return argument


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
