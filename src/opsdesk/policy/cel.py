"""CEL conditions (common-expression-language, Rust-backed), compiled once and evaluated per event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
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


class CelFacts(dict[str, Any]):
    """Facts already converted for CEL, with the CEL context built once for all rules of an event."""

    def __init__(self, facts: Facts) -> None:
        super().__init__(facts)
        self.context = cel.Context(to_cel(facts))


class CelCondition:
    """A compiled expression; an evaluation error means the condition does not hold."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.program = cel.compile(source)

    def __call__(self, facts: Facts) -> bool:
        context = facts.context if isinstance(facts, CelFacts) else to_cel(facts)
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
