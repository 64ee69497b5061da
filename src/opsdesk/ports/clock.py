"""The clock the core reads the time from (``opsdesk.testing`` has a manual one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
