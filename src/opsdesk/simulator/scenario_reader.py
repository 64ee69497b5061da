"""Reads a scenario document's fields, collecting every problem with its file:line:column."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from opsdesk.yamldoc import Document

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK = re.compile(r"^(\d{1,3}):(\d{2})$")


class Reader:
    """Reads fields of a document, collecting every problem with its position."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._problems: list[tuple[int, int, str]] = []

    @property
    def problems(self) -> list[str]:
        """Every problem found, in the order of the file."""
        return [text for _, _, text in sorted(self._problems)]

    def problem(self, keys: tuple[str | int, ...], message: str, *, of_key: bool = False) -> None:
        where = self.doc.position(keys, of_key=of_key)
        self._problems.append((where.line, where.column, f"{where}: {message}"))

    def mapping(self, keys: tuple[str | int, ...], value: Any, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(keys, "expected a mapping")
            return {}
        for key in value:
            if key not in allowed:
                self.problem(
                    (*keys, key),
                    f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})",
                    of_key=True,
                )
        return value

    def typed(self, keys: tuple[str | int, ...], value: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, kind):
            self.problem(keys, f"expected {what}, got {value!r}")
            return None
        return value

    def share(self, keys: tuple[str | int, ...], value: Any) -> float | None:
        number = self.typed(keys, value, (int, float), "a share between 0 and 1")
        if number is not None and not 0 <= number <= 1:
            self.problem(keys, f"expected a share between 0 and 1, got {number}")
            return None
        return None if number is None else float(number)

    def duration(self, keys: tuple[str | int, ...], value: Any) -> timedelta | None:
        if value is None:
            return None
        text = str(value).strip()
        clock = _CLOCK.match(text)
        if clock:
            return timedelta(hours=int(clock[1]), minutes=int(clock[2]))
        match = _DURATION.match(text)
        if not text or not match:
            self.problem(
                keys,
                f"expected a duration like 1d, 3h, 90m, 2h30m or a time of day like 10:30, got {value!r}",
            )
            return None
        d, h, m, s = (int(g or 0) for g in match.groups())
        return timedelta(days=d, hours=h, minutes=m, seconds=s)
