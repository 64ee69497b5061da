"""The wall clock, for production; tests and the simulator pass their own (see opsdesk.testing)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ResumedClock:
    """A clock that starts at ``at`` and runs at the wall clock's pace from ``since`` (default: now).

    ``opsdesk demo`` serves its simulated day on it, and every command in the demo's folder reads it from
    ``opsdesk.yaml`` (``clock:``, ADR 0043): the dashboard and the commands go on from where the day ended, so
    SLA countdowns and readiness read as they would have, instead of the wall clock days later firing every timer
    of the day at once. Anchored to the wall clock, not to a process's start, so that processes started at
    different times agree.
    """

    def __init__(self, at: datetime, since: datetime | None = None) -> None:
        self._at = at.astimezone(UTC)
        self._since = (since or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._at + (datetime.now(UTC) - self._since)
