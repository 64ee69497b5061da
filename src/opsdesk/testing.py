"""Public test doubles: a manual clock, in-memory repositories and a recording connector.

The in-memory database passes the same repository contract suite as SQLite and PostgreSQL
(tests/contract), so services can be tested against it and trusted on the real ones. Its tables are here,
its repositories in the ``testing_*`` modules beside this one, one module a repository or a few that
belong together, each working on the tables it names.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Self

from opsdesk.domain.access import Session, User
from opsdesk.domain.audit import ChainedRow
from opsdesk.domain.cases import Case, CaseChange
from opsdesk.domain.discount_windows import RateWindow
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord
from opsdesk.domain.inventory import StockLevel
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import Delivered, SendResult
from opsdesk.domain.pickups import MissedPickup
from opsdesk.domain.policies import Usage
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    DecisionRecord,
    FollowupProgress,
    OutboxAction,
    StoredDelivery,
    Timer,
)
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
from opsdesk.testing_access import MemoryAudit, MemorySessions, MemoryTokens, MemoryUsers
from opsdesk.testing_cases import MemoryCases
from opsdesk.testing_deliveries import MemoryDeliveries
from opsdesk.testing_discounts_pickups import MemoryDiscounts, MemoryPickups
from opsdesk.testing_followups import MemoryFollowups
from opsdesk.testing_inventory import MemoryInventory
from opsdesk.testing_orders import MemoryDecisions, MemoryOrders, MemoryUsage
from opsdesk.testing_outbox import MemoryOutbox
from opsdesk.testing_privacy import MemoryPrivacy
from opsdesk.testing_readiness import MemoryReadiness
from opsdesk.testing_timers import MemoryTimers


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify would send for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class _Tables:
    deliveries: dict[int, StoredDelivery] = field(default_factory=dict)
    delivery_status: dict[int, tuple[str, str]] = field(default_factory=dict)
    delivery_keys: set[tuple[str, str]] = field(default_factory=set)
    orders: dict[tuple[str, int], OrderState] = field(default_factory=dict)
    decisions: dict[str, DecisionRecord] = field(default_factory=dict)
    actions: dict[str, OutboxAction] = field(default_factory=dict)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    cases_numbered: int = 0  # the desk's case number sequence: only grows, as PostgreSQL's
    changes: list[CaseChange] = field(default_factory=list)
    timers: dict[str, Timer] = field(default_factory=dict)
    timer_leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)
    followups: dict[tuple[str, int], FollowupProgress] = field(default_factory=dict)
    followups_numbered: int = 0
    audit: list[AuditEntry] = field(default_factory=list)
    audit_chain: list[ChainedRow] = field(default_factory=list)
    audit_key_id: str | None = None
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    login_failures: list[tuple[str, datetime]] = field(default_factory=list)
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    reviews: list[PolicyReview] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    stock: dict[tuple[str, int, int], StockLevel] = field(default_factory=dict)
    stock_items: dict[tuple[str, int], tuple[str, bool]] = field(default_factory=dict)
    order_skus: dict[tuple[str, int], tuple[frozenset[str], datetime]] = field(default_factory=dict)
    discounts: dict[tuple[str, str], DiscountRecord] = field(default_factory=dict)
    discount_incidents: dict[str, DiscountIncident] = field(default_factory=dict)
    discount_windows: dict[tuple[str, str, datetime], RateWindow] = field(default_factory=dict)
    missed_pickups: dict[tuple[str, int, datetime], MissedPickup] = field(default_factory=dict)
    item_costs: dict[tuple[str, str], tuple[Decimal, datetime]] = field(default_factory=dict)

    def clone(self) -> _Tables:
        """A copy of every container; the records in them are frozen, so they can be shared."""
        return _Tables(**{name: copy.copy(value) for name, value in vars(self).items()})


class InMemoryUnitOfWork:
    """Works on a copy of the tables; ``commit`` publishes it, leaving without commit discards it."""

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
    discounts: DiscountRepository
    pickups: PickupRepository
    users: UserRepository
    sessions: SessionRepository
    privacy: PrivacyRepository

    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db

    def __enter__(self) -> Self:
        self._db.lock.acquire()
        self._tables = self._db.tables.clone()
        t = self._tables
        self.deliveries, self.orders, self.decisions = (
            MemoryDeliveries(t),
            MemoryOrders(t),
            MemoryDecisions(t),
        )
        self.outbox, self.cases, self.usage = MemoryOutbox(t), MemoryCases(t), MemoryUsage(t)
        self.audit, self.tokens, self.timers = MemoryAudit(t), MemoryTokens(t), MemoryTimers(t)
        self.users, self.sessions = MemoryUsers(t), MemorySessions(t)
        self.readiness = MemoryReadiness(t)
        self.inventory = MemoryInventory(t)
        self.discounts, self.pickups = MemoryDiscounts(t), MemoryPickups(t)
        self.followups = MemoryFollowups(t)
        self.privacy = MemoryPrivacy()
        return self

    def commit(self) -> None:
        # Publish a copy: the repositories go on writing to their own tables, and leaving without
        # another commit must discard those later writes.
        self._db.tables = self._tables.clone()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db.lock.release()


class InMemoryDatabase:
    """A database in dicts, one unit of work at a time: for tests, not for size."""

    def __init__(self) -> None:
        self.tables = _Tables()
        self.lock = threading.Lock()

    def unit_of_work(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def ping(self) -> None:
        return None

    def checkpoint(self) -> None:
        return None


class RecordingConnector:
    """A connector that succeeds and remembers what it was asked to send."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.sent: list[OutboxAction] = []

    def send(self, action: OutboxAction) -> SendResult:
        self.sent.append(action)
        return Delivered({"ok": True, "key": action.idempotency_key})


def usage(count: int = 0, amount: str = "0") -> Usage:
    return Usage(count, Decimal(amount))


__all__ = ["InMemoryDatabase", "ManualClock", "RecordingConnector", "replace", "sign", "usage"]
