"""CEL conditions (common-expression-language, Rust-backed), compiled once and evaluated per event."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import cel

from opsdesk.domain.policies import Facts

TOP_LEVEL = frozenset({"event", "order", "customer", "shop"})


def to_cel(value: Any) -> Any:
    """Python facts to CEL values: Decimal becomes a double, tuples lists; the rest passes through."""
    if isinstance(value, Mapping):
        return {k: to_cel(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [to_cel(v) for v in value]
    if isinstance(value, bool | int | float | str | datetime) or value is None:
        return value
    return str(value)


#: A name the facts are reached by, then its fields: ``order.total`` -> ("order", "total").
Path = tuple[str, ...]
_REFERENCE = re.compile(r"(?<![\w.])(event|order|customer|shop)((?:\s*\.\s*[A-Za-z_]\w*)*)")


def referenced_paths(source: str) -> frozenset[Path]:
    """Every path into the facts an expression may read; a superset (strings and shadowed names count too).

    ``order.skus.exists(s, s == "A")`` gives ``order.skus.exists``: the facts are cut where a path meets a
    value that is not a map (here the list of SKUs), so that value is kept whole.
    """
    return frozenset(
        (top, *(part.strip() for part in rest.split(".")[1:])) for top, rest in _REFERENCE.findall(source)
    )


def select_facts(facts: Mapping[str, Any], paths: frozenset[Path]) -> dict[str, Any]:
    """The part of ``facts`` the paths reach, converted for CEL; a path that ends on a map keeps it whole."""
    return _select(facts, _trie(paths))


@lru_cache(maxsize=1024)
def _trie(paths: frozenset[Path]) -> Mapping[str, Any]:
    """The paths as a trie, built once per condition's paths rather than once per event (never mutated)."""
    trie: dict[str, Any] = {}  # name -> the trie below it, or None: the whole value is read
    for path in paths:
        node: dict[str, Any] | None = trie
        for depth, part in enumerate(path):
            assert node is not None
            if part in node and node[part] is None:
                break  # a shorter path already reads all of it
            if depth == len(path) - 1:
                node[part] = None
            else:
                node = node.setdefault(part, {})
    return trie


def _select(facts: Mapping[str, Any], trie: Mapping[str, Any]) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for name, below in trie.items():
        if name not in facts:
            continue
        value = facts[name]
        chosen[name] = to_cel(value) if below is None or not isinstance(value, Mapping) else _select(value, below)
    return chosen


#: The types ``to_cel`` passes through unchanged, and that need nothing more than their type in a key.
_PLAIN = frozenset({str, int, bool, type(None)})


def _key(value: Any) -> Hashable:
    """``to_cel(value)`` as a key equal only for values CEL cannot tell apart, worked out without converting.

    The type is kept with each value and map key: Python has ``1 == 1.0 == True``, CEL has an int, a double
    and a bool; so are the sign of a zero and the offset of a time, which ``==`` ignores.
    """
    kind = type(value)
    if kind in _PLAIN:  # most facts: answered before the checks against abstract types, which cost more
        return kind, value
    if isinstance(value, Mapping):
        return dict, tuple((type(name), name, _key(v)) for name, v in value.items())
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return float, value, math.copysign(1.0, value)
    if isinstance(value, list | tuple):
        return list, tuple(_key(v) for v in value)
    if isinstance(value, datetime):
        return datetime, value, value.utcoffset()
    if isinstance(value, bool | int | str) or value is None:
        return type(value), value
    return str, str(value)


def _selected_key(facts: Mapping[str, Any], trie: Mapping[str, Any]) -> Hashable:
    """A key for ``_select(facts, trie)``: equal keys, the same values for CEL (built from the facts as they are)."""
    parts: list[tuple[str, Hashable]] = []
    for name, below in trie.items():
        if name in facts:
            value = facts[name]
            parts.append(
                (name, _key(value) if below is None or not isinstance(value, Mapping) else _selected_key(value, below))
            )
    return tuple(parts)


class CelFacts(dict[str, Any]):
    """Facts for the rules of one event; what each set of paths reads is keyed once for the event.

    Building a CEL context costs a few microseconds per value (~200 µs for a whole order), more than
    evaluating most conditions, so a condition gets a context holding only the paths it reads
    (``referenced_paths``), and only when it has not decided on the same values before (``CelCondition``).
    """

    def __init__(self, facts: Facts) -> None:
        super().__init__(facts)
        self._keys: dict[frozenset[Path], Hashable] = {}

    def key_for(self, paths: frozenset[Path]) -> Hashable:
        """A key for the values the paths reach: equal keys, the same values for CEL."""
        found = self._keys.get(paths)
        if found is None:
            found = self._keys[paths] = _selected_key(self, _trie(paths))
        return found

    def context_for(self, paths: frozenset[Path]) -> Any:
        return cel.Context(select_facts(self, paths))

    @property
    def context(self) -> Any:
        """A context with every fact (what a caller that does not know the paths gets)."""
        return self.context_for(frozenset((name,) for name in self))


class CelCondition:
    """A compiled expression; an evaluation error means the condition does not hold.

    A condition's result depends only on the values it reads (CEL has no clock, no randomness, and no
    functions are registered), and most events repeat a few of them (an order's status, its risk level,
    whether it is cancelled): results are remembered by those values, so the common ones are not
    evaluated again (building their context costs more than evaluating it). At most ``remembered``
    results are kept; the memory starts over when full.
    """

    remembered = 4096

    def __init__(self, source: str) -> None:
        self.source = source
        self.program = cel.compile(source)
        self.paths = referenced_paths(source)
        self._results: dict[Hashable, bool] = {}

    def __call__(self, facts: Facts) -> bool:
        if not isinstance(facts, CelFacts):
            return self._holds(to_cel(facts))
        key = facts.key_for(self.paths)
        found = self._results.get(key)
        if found is None:
            if len(self._results) >= self.remembered:
                self._results.clear()
            found = self._results[key] = self._holds(facts.context_for(self.paths))
        return found

    def _holds(self, context: Any) -> bool:
        try:
            return self.program.execute(context) is True
        except (LookupError, TypeError, ValueError, RuntimeError, ArithmeticError):  # e.g. lines[0] of none, x / 0
            return False

    def check(self, specimen: Facts) -> str:
        """Evaluate against fully populated facts; return the problem, or '' when it type-checks."""
        try:
            result = self.program.execute(to_cel(specimen))
        except KeyError as exc:
            return f"unknown field {exc.args[0]!r}"
        except RuntimeError as exc:
            if "Undefined variable" in str(exc):
                return f"unknown name (known: {', '.join(sorted(TOP_LEVEL))}): {str(exc).split('.')[0]}"
            return f"cannot evaluate: {str(exc).split('.')[0]}"
        except (TypeError, ValueError) as exc:
            return f"type error: {str(exc).split('.')[0]}"
        except (IndexError, ArithmeticError) as exc:  # the specimen's values: [1][5], 1 / 0, an overflow
            return f"cannot evaluate: {str(exc).split('.')[0]}"
        if not isinstance(result, bool):
            return f"must be true or false, not {type(result).__name__}"
        return ""


def compile_condition(source: str) -> CelCondition:
    """Compile or raise ValueError with the parser's message."""
    return CelCondition(source)
