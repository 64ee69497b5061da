"""Every timestamp the JSON API writes has one form: ISO 8601 in UTC, ending ``Z`` (ADR 0059).

The read models answer the desk's own times as ``datetime``, which the API and the CLI's ``--format json``
(``cli_common.emit``) write ``2026-01-05T10:00:00Z``. Text is text: a decision's stored inputs, a customer's note
that reads as a time, a time Shopify sent in the shop's offset, go out as they were stored, never rewritten
(ADR 0059 amended in session 14). A read model that has a time of its own as text parses it into a ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def wire_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An ``/api/v1`` route's answer with its times in the one form (``one_time_form``)."""
    return {key: one_time_form(item) for key, item in answer.items()}


def one_time_form(value: Any) -> Any:
    """``value`` (a JSON-ready answer) with every aware ``datetime`` in UTC; strings, whatever they read as, as
    they are."""
    if isinstance(value, dict):
        return {key: one_time_form(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [one_time_form(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    return value
