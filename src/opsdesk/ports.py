"""The ports the core needs: storage (a unit of work with repositories), the clock, connectors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from opsdesk.domain.cases import Case, CaseChange, Changed
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import SendResult
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    CaseFilter,
    CaseRecord,
    DecisionRecord,
    OutboxAction,
    RawDelivery,
    StoredDelivery,
    Timer,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class DeliveryRepository(Protocol):
    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        """Store deliveries not seen before (dedupe on shop + webhook id); returns how many were new."""

    def pending(self, limit: int, after_id: int = 0) -> list[StoredDelivery]: ...

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        """Which of these are still pending, locked for this transaction (rows other workers hold are skipped)."""

    def mark_processed(self, ids: Iterable[int], status: str = "processed", error: str = "") -> None: ...

    def requeue_waiting(self, shop: str, order_id: int) -> int:
        """Deliveries that were waiting for this order to be known go back to pending."""

    def release_waiting(self, received_before: datetime) -> int:
        """Deliveries that waited since before ``received_before`` are processed with what is known."""

    def count(self, status: str | None = None) -> int: ...

    def get(self, delivery_id: int) -> StoredDelivery: ...


class OrderRepository(Protocol):
    def get_many(
        self, keys: Iterable[tuple[ShopDomain, OrderId]]
    ) -> dict[tuple[ShopDomain, OrderId], OrderState]: ...

    def put_many(self, states: Iterable[OrderState]) -> None: ...

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None: ...

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        """The order with this id in every shop that has one (ids are unique per shop only)."""


class DecisionRepository(Protocol):
    def seen(self, ids: Iterable[str]) -> set[str]:
        """Which of these decision ids are already recorded."""

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None: ...

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]: ...


class OutboxRepository(Protocol):
    def add_many(self, actions: Sequence[OutboxAction]) -> None: ...

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        """Lease due pending actions to one worker; an expired lease makes an action claimable again."""

    def next_due_at(self) -> datetime | None:
        """When the earliest pending action is due (leased ones included), or None when none is pending."""

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        """Write back a claimed action's outcome; False when the lease was lost to another worker."""

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]: ...

    def get(self, action_id: str) -> OutboxAction: ...

    def count(self, status: str | None = None) -> int: ...


class CaseRepository(Protocol):
    def open(self, case: CaseRecord) -> CaseRecord:
        """Open a case, or return the open one of the same kind for the same order (repeated signals join it)."""

    def for_order(self, shop: str, order_id: int) -> list[CaseRecord]: ...

    def list_open(self, limit: int = 100) -> list[CaseRecord]: ...

    def get(self, case_id: str) -> Case:
        """The case with its owner, status and version; ``NotFound`` when there is none."""

    def save(self, changed: Changed, expected_version: int) -> bool:
        """Write a transition and its timeline entry if the case is still at ``expected_version``."""

    def set_due(self, case_id: str, due_at: datetime | None) -> None:
        """Record the next running SLA deadline (the queue sorts on it)."""

    def timeline(self, case_id: str) -> list[CaseChange]: ...

    def search(self, where: CaseFilter, limit: int = 50, offset: int = 0) -> list[Case]:
        """Cases matching ``where``, what is due first first (no deadline last), then oldest."""

    def count(self, where: CaseFilter) -> int: ...


class TimerRepository(Protocol):
    def schedule(self, timers: Sequence[Timer]) -> None:
        """Add timers, or move ones with the same id to their new due time (fired or cancelled ones re-arm)."""

    def next_due_at(self, now: datetime) -> datetime | None:
        """When the earliest pending timer not leased at ``now`` is due, or None."""

    def cancel(self, subject: str, kinds: Iterable[str] = ()) -> int:
        """Cancel the pending timers of a subject (of the given kinds, or all); returns how many."""

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[Timer]:
        """Lease due pending timers to one worker (skipping rows other workers hold)."""

    def finish(self, timer_id: str, *, worker: str, at: datetime, error: str = "",
               retry_at: datetime | None = None) -> bool:
        """Mark a claimed timer fired (or failed, to retry at ``retry_at``); False when the lease was lost."""

    def pending(self, subject: str) -> list[Timer]: ...

    def count(self, status: str | None = None) -> int: ...


class UsageRepository(Protocol):
    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]: ...

    def put_many(self, usage: dict[str, Usage]) -> None: ...


class AuditRepository(Protocol):
    def record(self, entries: Sequence[AuditEntry]) -> None: ...

    def count(self) -> int: ...


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def find_by_digest(self, digest: str) -> ApiToken | None: ...


class UnitOfWork(Protocol):
    """One transaction over every repository; leaving without ``commit`` rolls back."""

    deliveries: DeliveryRepository
    orders: OrderRepository
    decisions: DecisionRepository
    outbox: OutboxRepository
    cases: CaseRepository
    usage: UsageRepository
    audit: AuditRepository
    tokens: TokenRepository
    timers: TimerRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...


class Database(Protocol):
    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A transaction; a ``read_only`` one must not write (on SQLite it never takes the write lock)."""

    def ping(self) -> None:
        """Raise ``Unavailable`` when the database cannot answer."""

    def checkpoint(self) -> None:
        """Housekeeping an embedded database needs now and then (SQLite's WAL checkpoint); may do nothing."""


class Connector(Protocol):
    """Sends one kind of outbound action to one provider (Shopify, SMTP, ...)."""

    provider: str

    def send(self, action: OutboxAction) -> SendResult: ...
