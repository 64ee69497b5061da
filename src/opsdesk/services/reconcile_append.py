"""What the sweep's comparisons share: the desk they compare with, and storing what they found behind, once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from opsdesk.domain.records import RawDelivery
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.intake import Screen
from opsdesk.services.reconcile_report import SweepReport

__all__ = ["Comparison"]


class Comparison:
    """The desk one comparison reads (its database, who decides each event) and appends to."""

    def __init__(self, db: Database, listeners: Callable[[str], Sequence[str]], screen: Screen,
                 now: Callable[[], datetime]) -> None:
        self.db = db
        #: The playbooks that decide an event ("-" when none does): a decision by any of them for the
        #: event's key says that version was heard.
        self.listeners = listeners
        #: Sees what a sweep appends just before it is stored (ADR 0021: erased customers' data is erased).
        self.screen = screen
        self.now = now

    def store(self, uow: UnitOfWork, behind: Sequence[RawDelivery], report: SweepReport) -> None:
        """Append the synthetic deliveries and commit; those stored by an earlier sweep count as already there."""
        new = uow.deliveries.add(self.screen(uow, behind)) if behind else 0
        uow.commit()
        report.appended += new
        report.already_appended += len(behind) - new
