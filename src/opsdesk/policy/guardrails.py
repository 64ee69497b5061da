"""The reading of a rule's guardrails: how many actions, or how much money, per order, customer or shop and
period, before the rule stops acting and escalates instead."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from opsdesk.domain.policies import Guardrail, Scope
from opsdesk.policy.reading import DocumentReader

GUARDRAIL_KEYS = frozenset({"per", "period", "max_count", "max_amount"})
PERIOD = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class GuardrailReader(DocumentReader):
    """A playbook reader's part that reads guardrails (``guardrails:`` of a rule)."""

    def guardrails(self, value: Any, at: list[str | int]) -> tuple[Guardrail, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(at, "'guardrails' is a list")
            return ()
        return tuple(g for i, item in enumerate(value) if (g := self.guardrail(item, [*at, i])) is not None)

    def guardrail(self, value: Any, at: list[str | int]) -> Guardrail | None:
        if not isinstance(value, dict):
            self.error(at, "a guardrail is a mapping with 'per' and a limit")
            return None
        self.keys(value, GUARDRAIL_KEYS, at)
        try:
            scope = Scope(value.get("per"))
        except ValueError:
            self.error([*at, "per"], f"'per' must be one of {', '.join(s.value for s in Scope)}")
            return None
        period = self.period(value.get("period"), [*at, "period"], scope)
        max_count = value.get("max_count")
        if max_count is not None and (not isinstance(max_count, int) or max_count < 0):
            self.error([*at, "max_count"], "'max_count' must be a whole number ≥ 0")
            max_count = None
        max_amount = self.amount(value.get("max_amount"), [*at, "max_amount"])
        if max_count is None and max_amount is None:
            self.error(at, "a guardrail needs 'max_count' or 'max_amount'")
        return Guardrail(scope, period, max_count, max_amount)

    def period(self, value: Any, at: list[str | int], scope: Scope) -> timedelta | None:
        if value is None:
            if scope is not Scope.ACTION:
                self.error(at, f"a per-{scope.value} guardrail needs a 'period' such as 1d or 30d")
            return None
        match = PERIOD.match(str(value))
        if not match or int(match.group(1)) == 0:
            self.error(at, "'period' is a number and a unit: 30m, 12h, 1d, 4w")
            return None
        try:
            return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:
            self.error(at, "'period' is too long")
            return None

    def amount(self, value: Any, at: list[str | int]) -> Decimal | None:
        if value is None:
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or isinstance(value, bool):
            self.error(at, "'max_amount' must be an amount ≥ 0")
            return None
        return amount
