"""The ports the core needs: storage (a unit of work with repositories), the clock, connectors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import SendResult
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    CaseRecord,
    DecisionRecord,
    OutboxAction,
    RawDelivery,
    StoredDelivery,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class DeliveryRepository(Protocol):
    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        """Store deliveries not seen before (dedupe on shop + webhook id); returns how many were new."""

    def pending(self, limit: int, after_id: int = 0) -> list[StoredDelivery]: ...

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

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...


class Database(Protocol):
    def unit_of_work(self) -> UnitOfWork: ...

    def ping(self) -> None:
        """Raise ``Unavailable`` when the database cannot answer."""


class Connector(Protocol):
    """Sends one kind of outbound action to one provider (Shopify, SMTP, ...)."""

    provider: str

    def send(self, action: OutboxAction) -> SendResult: ...
