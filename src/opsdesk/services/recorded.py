"""The facts a decision recorded (``inputs``, stored as JSON), read back as the rules saw them: Decimal and datetime
again, by the specimen facts of its event (those ``policy check`` type-checks rules against). The backtest decides
them again (ADR 0014); the refund's last look re-asks its rule on them (ADR 0041)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from opsdesk.services.facts import specimens


def typed(value: Any, like: Any) -> Any:
    """A recorded (JSON) fact back in the type the live facts had, as the specimen of its event shows."""
    if isinstance(like, Mapping) and isinstance(value, Mapping):
        return {k: typed(v, like.get(k)) for k, v in value.items()}
    if isinstance(like, Decimal) and isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return value
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


@cache
def _specimens() -> Mapping[str, Mapping[str, Any]]:
    return specimens()


def recorded_facts(event_name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a decision of ``event_name`` recorded, typed as the rules saw them."""
    return dict(typed(inputs, _specimens().get(event_name, {})))
