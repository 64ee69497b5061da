"""The wall clock, for production; tests and the simulator pass their own (see opsdesk.testing)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
