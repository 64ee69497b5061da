"""Whether the database takes writes, for ``/healthz`` (ADR 0056).

A database that answers reads but refuses writes (SQLite's disk full, a read-only file system) passes a
``SELECT 1`` while intake answers 503 to every delivery. The units of work report each write's outcome here;
the health check fails once writes have failed for ``grace`` seconds with none going through since: a busy
or deadlocked moment, which the next write clears, is not an outage.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from opsdesk.domain.errors import Unavailable

__all__ = ["WriteHealth"]


class WriteHealth:
    def __init__(self, grace: float = 5.0, seconds: Callable[[], float] = time.monotonic) -> None:
        self._grace, self._seconds = grace, seconds
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._reason = ""

    def failed(self, reason: str) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = self._seconds()
            self._reason = reason

    def observe(self, exc: BaseException | None) -> None:
        """A write transaction ended in ``exc``: the database's failure counts; a value it refused, a conflict, or
        any error of ours does not."""
        if isinstance(exc, DataError | IntegrityError | sqlite3.DataError | sqlite3.IntegrityError):
            return
        if isinstance(exc, Unavailable | DBAPIError | sqlite3.OperationalError):
            self.failed(str(getattr(exc, "orig", None) or exc))

    def succeeded(self) -> None:
        with self._lock:
            self._failing_since = None

    def check(self) -> None:
        """``Unavailable``, with the last write's reason, when writes have failed for ``grace`` seconds."""
        with self._lock:
            since, reason = self._failing_since, self._reason
        if since is not None and (failing := self._seconds() - since) >= self._grace:
            raise Unavailable(f"writes failing for {failing:.0f} s: {reason}")
