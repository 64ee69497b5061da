"""Discount rate windows deleted once no detector reads them again and no open incident stands on them.

The rate detectors (``RateDetectors.count``, ``services/discount_batch.py``) read, for a new order, the
window its time falls in and the ``baseline_windows`` before it: ``span`` back from the order's time, which
may be behind ``now`` (a late delivery, a replay). A window is deleted once it ended ``keep`` ago: the
housekeeping horizon of ADR 0022 (two longest guardrail or monitor windows), or twice ``span`` when that
is longer, the same margin for what runs with another ``now``. An open ``rate`` or ``code_abuse``
incident (its case not resolved or closed) keeps its shop's windows from the baseline before its first
bad order on: the windows its case was opened on. No readiness control reads the windows.

The sweep is a durable timer (``discount_window_retention``) armed by the timer sweeper of ``opsdesk serve``
and ``opsdesk worker``. Each firing reads the next ``batch`` windows past the horizon along their start (an
index, migration 0010) from the last one it read, and deletes those no open incident holds; at once again
while a page was full, else ``every`` later from the first window. A round reads only the windows it
deletes and those still held: what is left before the horizon once a round ends is what open incidents
hold, so the next round, from the first window, reads those again and nothing else it read before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.domain.discount_windows import WindowMark, window_start
from opsdesk.domain.discounts import GuardPolicy
from opsdesk.domain.records import Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.deadlines import Handler
from opsdesk.services.discount_incidents import open_incidents

DISCOUNT_RETENTION = "discount_window_retention"
SUBJECT = "housekeeping:discount-windows"
#: The incidents a rate detector opens, from the windows: they hold them while open.
WINDOW_KINDS = frozenset({"rate", "code_abuse"})


@dataclass(frozen=True, slots=True)
class DiscountWindowRetention:
    #: The housekeeping horizon (``UsageRetention.keep``).
    horizon: timedelta
    policy: GuardPolicy
    every: timedelta = timedelta(hours=1)
    batch: int = 500

    @property
    def span(self) -> timedelta:
        """How far back from an order's time the detectors read: its window and the baseline before it."""
        return self.policy.window * (self.policy.baseline_windows + 1)

    @property
    def keep(self) -> timedelta:
        return max(self.horizon, 2 * self.span)

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {DISCOUNT_RETENTION: self.sweep}

    def first(self, now: datetime) -> Timer:
        """The timer that starts the sweeps, due at once (the sweeper arms it when it starts)."""
        return _timer(now, None)

    def sweep(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``discount_window_retention`` timer: one page of old windows, those not held deleted; then the next."""
        ended_before = now - self.keep - self.policy.window  # a window that started then ended ``keep`` ago
        page = uow.discounts.old_windows(ended_before, _mark(timer.payload), self.batch)
        held = self.held_from(uow, {w.shop for w in page})
        uow.discounts.remove_windows([w for w in page if w.shop not in held or w.start < held[w.shop]])
        last = (page[-1].start, page[-1].shop, page[-1].subject) if len(page) == self.batch else None
        uow.timers.schedule([_timer(now if last else now + self.every, last)])

    def held_from(self, uow: UnitOfWork, shops: Iterable[str]) -> dict[str, datetime]:
        """By shop, the start from which its open rate and code-abuse incidents hold its windows."""
        held: dict[str, datetime] = {}
        for shop in shops:
            starts = [window_start(min(filter(None, (i.first_bad_order_at, i.detected_at))), self.policy.window)
                      - self.policy.window * self.policy.baseline_windows
                      for i in open_incidents(uow, shop) if i.kind in WINDOW_KINDS]
            if starts:
                held[shop] = min(starts)
        return held


def _timer(due: datetime, after: WindowMark | None) -> Timer:
    payload = {"start": after[0].isoformat(), "shop": after[1], "subject": after[2]} if after else {}
    return Timer(DISCOUNT_RETENTION, DISCOUNT_RETENTION, SUBJECT, due, payload)


def _mark(payload: Mapping[str, object]) -> WindowMark | None:
    start = payload.get("start")
    return (datetime.fromisoformat(str(start)), str(payload["shop"]), str(payload["subject"])) if start else None
