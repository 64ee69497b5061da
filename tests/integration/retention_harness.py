"""A housekeeping sweep run as the desk's timer sweeper runs it (``housekeeping=True``), one round at a time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from opsdesk.domain.records import Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import Clock, Database
from opsdesk.services.deadlines import Handler


class Sweep(Protocol):
    @property
    def timer_handlers(self) -> Mapping[str, Handler]: ...

    def first(self, now: datetime) -> Timer: ...


def sweep_round(db: Database, clock: Clock, sweep: Sweep) -> int:
    """Fire the sweep until it waits for its next round; how many pages that took."""
    sweeper = TimerSweeper(db, dict(sweep.timer_handlers), clock, worker="w", standing=(sweep.first,))
    firings = 0
    while sweeper.run_once():
        firings += 1
    return firings
