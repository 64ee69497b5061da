"""The repositories of the work on cases: the cases, their timers, delayed-fulfilment follow-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.cases import Case, CaseChange, Changed
from opsdesk.domain.queue_cursor import QueueMark
from opsdesk.domain.records import CaseFilter, CaseRecord, FollowupProgress, Timer, TimerMark


class CaseRepository(Protocol):
    def open(self, case: CaseRecord) -> CaseRecord:
        """Open a case, or return the open one of the same kind for the same order (repeated signals join it).

        A new case takes the next number of the desk's sequence (its key), in the same transaction; numbers
        only grow and are never given twice, not even after the cases that held them were erased."""

    def holding(self, prefix: str) -> list[CaseRecord]:
        """The active cases whose join key (``domain.cases.join_key``) begins with ``prefix`` (``stock_key``)."""

    def for_order(self, shop: str, order_id: int) -> list[CaseRecord]: ...

    def for_orders(self, shop: str, order_ids: Iterable[int]) -> dict[int, list[CaseRecord]]:
        """``for_order`` for many orders of a shop in one read: by order, the orders with a case only."""

    def list_open(self, limit: int = 100) -> list[CaseRecord]: ...

    def keys(self, case_ids: Iterable[str]) -> dict[str, str]:
        """The keys (``C-1042``) of many cases in one read: by id, the cases found only."""

    def get(self, case_id: str) -> Case:
        """The case with its owner, status and version; ``NotFound`` when there is none. ``case_id`` may also
        be the case's key (``C-1042``, ADR 0029): an id is looked up first, so no id is ever shadowed."""

    def save(self, changed: Changed, expected_version: int) -> bool:
        """Write a transition and its timeline entry if the case is still at ``expected_version``."""

    def set_due(self, case_id: str, due_at: datetime | None) -> None:
        """Record the next running SLA deadline (the queue sorts on it)."""

    def timeline(self, case_id: str) -> list[CaseChange]: ...

    def search(
        self, where: CaseFilter, limit: int = 50, offset: int = 0, after: QueueMark | None = None
    ) -> list[Case]:
        """Cases matching ``where``: active ones what is due first first (no deadline last, oldest first), then
        ended (resolved, closed) ones, the latest ended first; ties by id, so pages follow one order. With
        ``after``, only those after that mark in this order (``queue_mark``, ADR 0059)."""

    def count(self, where: CaseFilter) -> int: ...


class TimerRepository(Protocol):
    def schedule(self, timers: Sequence[Timer]) -> None:
        """Add timers, or move ones with the same id to their new due time (fired or cancelled ones re-arm)."""

    def amend(self, timer: Timer, change: Callable[[Timer], Timer]) -> None:
        """Write ``change`` of the pending timer with ``timer``'s id (of ``timer`` itself when none is pending).

        A shared timer (a person's digest) is amended at commit, each row locked then read, in id order, just
        before the audit chain: two transactions amending one timer lose neither change and, holding it,
        wait for nothing but other such timers and the chain's head (ADR 0058). Changes to one timer apply
        in the order they were made; ``pending`` of its subject, in the same transaction, sees them."""

    def next_due_at(self, now: datetime) -> datetime | None:
        """When the earliest pending timer not leased at ``now`` is due, or None."""

    def cancel(self, subject: str, kinds: Iterable[str] = ()) -> int:
        """Cancel the pending timers of a subject (of the given kinds, or all); returns how many."""

    def cancel_many(self, subjects: Iterable[str], kinds: Iterable[str] = ()) -> set[str]:
        """``cancel`` for many subjects in one write: the subjects that had a pending timer cancelled."""

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[Timer]:
        """Lease due pending timers to one worker (skipping rows other workers hold)."""

    def finish(self, timer_id: str, *, worker: str, at: datetime, error: str = "",
               retry_at: datetime | None = None) -> bool:
        """Mark a claimed timer fired (or failed, to retry at ``retry_at``); False when the lease was lost."""

    def pending(self, subject: str) -> list[Timer]: ...

    def pending_many(self, subjects: Iterable[str]) -> dict[str, list[Timer]]:
        """``pending`` for many subjects in one read: by subject, the subjects with a pending timer only."""

    def prune(self, after: TimerMark | None, limit: int, due_before: datetime) -> tuple[TimerMark | None, int, int]:
        """Delete up to ``limit`` fired and cancelled timers due before ``due_before``, the next ones by (due
        time, id) after ``after`` (None: from the first). Reads no other row. Returns the last one read (None
        when fewer than ``limit`` were left), how many were read and how many went (fewer if another worker
        scheduled one again meanwhile).
        """

    def count(self, status: str | None = None) -> int: ...


class FollowupRepository(Protocol):
    """Delayed-fulfilment progress, one row per order followed up (services/followups.py, ADR 0022)."""

    def find(self, shop: str, order_id: int) -> FollowupProgress | None: ...

    def record(self, progress: FollowupProgress) -> None:
        """Store an order's progress; its first record numbers it, after every row stored before."""

    def page(self, after: int, limit: int) -> list[FollowupProgress]:
        """Up to ``limit`` rows with an id above ``after``, in id order: the order their follow-ups began."""

    def remove(self, ids: Iterable[int], sent_before: datetime) -> int:
        """Delete the rows of these ids whose last message went before ``sent_before``; how many went."""
