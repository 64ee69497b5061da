"""One transaction over every repository, and the database that begins it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from opsdesk.ports.access import AuditRepository, SessionRepository, TokenRepository, UserRepository
from opsdesk.ports.cases import CaseRepository, FollowupRepository, TimerRepository
from opsdesk.ports.compliance import PrivacyRepository, ReadinessRepository
from opsdesk.ports.pipeline import (
    DecisionRepository,
    DeliveryRepository,
    OrderRepository,
    OutboxRepository,
    UsageRepository,
)
from opsdesk.ports.playbooks import DiscountRepository, InventoryRepository, PickupRepository


class UnitOfWork(Protocol):
    """One transaction over every repository; leaving without ``commit`` rolls back."""

    deliveries: DeliveryRepository
    orders: OrderRepository
    decisions: DecisionRepository
    outbox: OutboxRepository
    cases: CaseRepository
    usage: UsageRepository
    followups: FollowupRepository
    audit: AuditRepository
    tokens: TokenRepository
    timers: TimerRepository
    readiness: ReadinessRepository
    inventory: InventoryRepository
    users: UserRepository
    sessions: SessionRepository
    discounts: DiscountRepository
    pickups: PickupRepository
    privacy: PrivacyRepository

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
