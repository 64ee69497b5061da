"""The wall clock, for production; tests and the simulator pass their own (see opsdesk.testing)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ResumedClock:
    """A clock that starts at ``at`` and runs at the wall clock's pace from the moment it is made.

    ``opsdesk demo`` serves its simulated day on it: the dashboard goes on from where the day ended, so
    its SLA countdowns read as they would have, instead of the wall clock days later firing every timer
    of the day at once.
    """

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._started)
