"""Every timestamp the JSON API writes has one form: ISO 8601 in UTC, ending ``Z`` (ADR 0059).

The read models answer times as ``datetime`` (which the API writes ``2026-01-05T10:00:00Z``) but also as text
made earlier: a decision's inputs as they were stored, the readiness report's ``isoformat()`` (``+00:00``). Each
``/api/v1`` route passes its answer through ``wire_answer`` on the way out, so a client parses one form; the
CLI's ``--format json`` passes what it prints through ``one_time_form`` too (``cli_common.emit``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: A whole string that is an aware ISO 8601 time: a date, a time to the minute at least, and its offset.
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)")


def wire_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An ``/api/v1`` route's answer with its times in the one form (``one_time_form``)."""
    return {key: one_time_form(item) for key, item in answer.items()}


def one_time_form(value: Any) -> Any:
    """``value`` (a JSON-ready answer) with every aware time, as ``datetime`` or as text, a ``datetime`` in UTC."""
    if isinstance(value, dict):
        return {key: one_time_form(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [one_time_form(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, str) and _STAMP.fullmatch(value):
        return datetime.fromisoformat(value).astimezone(UTC)
    return value
