"""The ports the core needs: storage (a unit of work with repositories), the clock, connectors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self

from opsdesk.domain.access import Session, User
from opsdesk.domain.audit import ChainedRow, ChainHead
from opsdesk.domain.cases import Case, CaseChange, Changed
from opsdesk.domain.discount_windows import RateWindow, WindowMark
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord
from opsdesk.domain.erasures import Erasure
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.inventory import StockLevel
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import SendResult
from opsdesk.domain.pickups import MissedPickup
from opsdesk.domain.policies import Usage
from opsdesk.domain.privacy import PrivacySubject, StoredRow
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import (
    ApiToken,
    AuditEntry,
    CaseFilter,
    CaseRecord,
    DecisionRecord,
    FollowupProgress,
    OutboxAction,
    RawDelivery,
    StoredDelivery,
    Timer,
    TimerMark,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class DeliveryRepository(Protocol):
    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        """Store deliveries not seen before (dedupe on shop + webhook id); returns how many were new."""

    def store(self, deliveries: Sequence[RawDelivery]) -> list[StoredDelivery]:
        """``add``, returning the new deliveries with their ids in id order (their parsed payload kept)."""
        ...

    def pending(
        self, limit: int, after_id: int = 0, have: Mapping[int, StoredDelivery] | None = None
    ) -> list[StoredDelivery]:
        """The oldest pending deliveries after ``after_id``, in id order; those in ``have`` (just stored, by id)
        are taken from it instead of read back."""

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        """Which of these are still pending, locked for this transaction (rows other workers hold are skipped)."""

    def mark_processed(self, ids: Iterable[int], status: str = "processed", error: str = "") -> None: ...

    def requeue_waiting(self, shop: str, order_ids: Iterable[int]) -> int:
        """Deliveries that were waiting for one of these orders to be known go back to pending."""

    def release_waiting(self, received_before: datetime) -> int:
        """Deliveries that waited since before ``received_before`` are processed with what is known."""

    def oldest_waiting(self) -> datetime | None:
        """When the longest-waiting delivery was received (None: none waits)."""

    def count(self, status: str | None = None) -> int: ...

    def get(self, delivery_id: int) -> StoredDelivery: ...

    def prune(self, after: int, limit: int, received_before: datetime) -> tuple[int, int, bool]:
        """Delete processed and ignored deliveries received before ``received_before``, reading at most
        ``limit`` rows in id order after ``after``; stops at the first row received since. Returns the id to
        go on after, how many were deleted, and whether it stopped there (or at the table's end)."""


class OrderRepository(Protocol):
    def get_many(
        self, keys: Iterable[tuple[ShopDomain, OrderId]]
    ) -> dict[tuple[ShopDomain, OrderId], OrderState]: ...

    def put_many(self, states: Iterable[OrderState]) -> None: ...

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None: ...

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        """The order with this id in every shop that has one (ids are unique per shop only)."""

    def search(self, term: str, limit: int = 20) -> list[OrderState]:
        """Orders whose number (``#1001`` or ``1001``), id or customer email is ``term``, newest first."""


class DecisionRepository(Protocol):
    def seen(self, ids: Iterable[str]) -> set[str]:
        """Which of these decision ids are already recorded."""

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None: ...

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]: ...

    def outcomes_by_day(self, since: datetime) -> dict[str, dict[str, int]]:
        """Decisions taken since ``since``, counted by UTC day (``YYYY-MM-DD``) and outcome."""

    def history(
        self, since: datetime, until: datetime | None, after: tuple[datetime, int, str] | None, limit: int
    ) -> list[DecisionRecord]:
        """A page of the decisions taken in [since, until), in the order they were taken: by
        (decided_at, delivery id or 0, id), after that key (the last of the previous page)."""

    def count_between(self, since: datetime, until: datetime | None) -> int: ...


class OutboxRepository(Protocol):
    def add_many(self, actions: Sequence[OutboxAction]) -> None: ...

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        """Lease due pending actions to one worker; an expired lease makes an action claimable again. An action
        waits while an earlier one of its decision (a lower ``position``) is pending (ADR 0042)."""

    def next_due_at(self) -> datetime | None:
        """When the earliest pending action that may go is due (leased ones included; not one that waits for an
        earlier one of its decision), or None when none is."""

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        """Write back a claimed action's outcome (its status, attempts, next attempt, last error and
        history; nothing else of an action changes once added); False when the lease was lost to another
        worker."""

    def pending_after(self, action: OutboxAction) -> list[OutboxAction]:
        """The pending actions of ``action``'s decision at a later position, in their order."""

    def postpone_after(self, action: OutboxAction) -> None:
        """Make the later pending actions of ``action``'s decision due no sooner than it is (its next attempt), so
        that a claim does not read past them while they wait for it."""

    def cancel(self, actions: Sequence[OutboxAction]) -> int:
        """Write the outcome of actions that were never claimed (failed before they could go, ADR 0042), each
        only while it is still pending; returns how many were written."""

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]: ...

    def for_orders(self, shop: str, order_ids: Iterable[int], kind: str) -> dict[int, list[OutboxAction]]:
        """The actions of one ``kind`` of a shop's orders, by order, each order's in creation order (as
        ``for_order``); an order with none is left out."""

    def get(self, action_id: str) -> OutboxAction: ...

    def count(self, status: str | None = None) -> int: ...


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


class UsageRepository(Protocol):
    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]: ...

    def put_many(self, usage: dict[str, Usage]) -> None: ...

    def keys(self, after: str, limit: int) -> list[str]:
        """Up to ``limit`` stored keys that sort after ``after``, in order (a sweep reads them page by page)."""

    def remove(self, keys: Iterable[str]) -> int:
        """Delete the rows of these keys; returns how many there were."""


class AuditRepository(Protocol):
    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash chain (writers take turns on the chain's head)."""

    def count(self) -> int: ...

    def chain(self, after_id: int, limit: int) -> list[ChainedRow]:
        """Stored rows with ids above ``after_id``, in id order, exactly as stored."""

    def head(self) -> ChainHead: ...

    def lock_head(self) -> ChainHead:
        """The head, held until the transaction ends: no other writer extends the chain meanwhile."""

    def rehash(self, hashes: Sequence[tuple[int, str, str]]) -> None:
        """Give rows (id, prev_hash, hash) new hashes (``opsdesk audit rekey`` only)."""

    def move_head(self, head: ChainHead) -> None:
        """Set the chain's head (``opsdesk audit rekey`` only)."""


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Store a new user with their roles; ``Conflict`` when the username is taken."""

    def find(self, username: str) -> User | None: ...

    def list(self) -> list[User]: ...

    def update(self, user: User) -> None:
        """Write back a user's name, person, password hash, disabled flag and roles."""

    def record_failure(self, username: str, at: datetime) -> None: ...

    def failures_since(self, username: str, since: datetime) -> int: ...

    def clear_failures(self, username: str | None, before: datetime | None = None) -> None:
        """Forget failed sign-ins of a username (or of every one), all or those before ``before``."""


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...

    def find(self, digest: str) -> Session | None: ...

    def touch(self, digest: str, at: datetime) -> None: ...

    def remove(self, digest: str) -> None: ...

    def remove_for(self, username: str) -> int:
        """End every session of a user; returns how many there were."""

    def purge(self, now: datetime, idle_before: datetime) -> int:
        """Delete sessions past their absolute lifetime or idle since before ``idle_before``."""


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def find_by_digest(self, digest: str) -> ApiToken | None: ...

    def find(self, token_id: str) -> ApiToken | None: ...

    def list(self) -> list[ApiToken]:
        """Every token, revoked ones too, oldest first."""

    def revoke(self, token_id: str) -> bool:
        """Mark a token revoked; whether this call did (False when it was revoked already or is unknown)."""


class ReadinessRepository(Protocol):
    """What the readiness controls read from live data, and the evidence they record (reviews, probes)."""

    def unowned_orders(self, limit: int) -> tuple[int, list[OrderState]]:
        """Open orders (not cancelled, not fulfilled) without an owner: how many, and the first ``limit``."""

    def overdue_orders(self, now: datetime, limit: int) -> tuple[int, list[OrderState]]:
        """Open orders past their ship-by time and not fulfilled: how many, and the first ``limit``."""

    def unowned_cases(self, limit: int) -> tuple[int, list[Case]]:
        """Active cases without an owner: how many, and the first ``limit``."""

    def case_owners(self) -> dict[str, int]:
        """The owners of active cases, each with how many it holds (cases without an owner left out)."""

    def cases_of_kind(self, kind: str, opened_since: datetime) -> list[Case]:
        """Cases of ``kind`` still active (however old) or opened since ``opened_since``."""

    def actions_of_kind(self, kind: str, created_since: datetime) -> list[OutboxAction]: ...

    def deliveries(self, topics: Sequence[str], since: datetime, limit: int) -> list[StoredDelivery]:
        """Stored deliveries of these topics received since ``since``, newest first."""

    def count_deliveries(self, topics: Sequence[str], since: datetime) -> int: ...

    def credentials(self) -> list[ApiToken]:
        """API tokens not revoked."""

    def add_review(self, review: PolicyReview) -> None: ...

    def latest_review(self, playbook: str) -> PolicyReview | None: ...

    def add_probe(self, probe: Probe) -> None: ...

    def latest_probe(self, kind: str, shop: str) -> Probe | None: ...


class InventoryRepository(Protocol):
    """Stock levels, each inventory item's SKU, and the SKUs of open orders (the overselling playbook)."""

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        """Keep a level newer than the stored one; False for a stale (out-of-order) one."""

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None: ...

    def sku_of(self, shop: str, item_id: int) -> str | None: ...

    def levels(self, shop: str, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        """The levels of tracked items with these SKUs, by SKU."""

    def track_order(self, shop: str, order_id: int, skus: Iterable[str], open_: bool, at: datetime) -> None:
        """Remember the SKUs of an open order (``open_`` False forgets them)."""

    def stock(
        self, shop: str, skus: Iterable[str], item_ids: Iterable[int]
    ) -> tuple[dict[int, tuple[str, bool]], list[StockLevel]]:
        """The items with these SKUs or ids, by id: (SKU, tracked); and every level of them and of ``item_ids``."""

    def put_levels(self, levels: Sequence[StockLevel]) -> None:
        """Store levels, each only over an older one (``record_level`` for a batch, its freshness known)."""

    def track_orders(self, orders: Mapping[tuple[str, int], tuple[Sequence[str], datetime]]) -> None:
        """``track_order`` for many orders: (shop, order id) -> (the SKUs it holds, none once closed; placed at)."""

    def open_orders(self, shop: str, sku: str, limit: int = 100, placed_after: datetime | None = None) -> list[int]:
        """Open orders holding ``sku``, newest first; placed after ``placed_after`` when given."""

    def freshness(self, shop: str, limit: int = 100) -> tuple[datetime | None, list[StockLevel]]:
        """The newest level's time, and the levels below zero."""


class DiscountRepository(Protocol):
    """Discounts heard of (with their terms once read), incidents, and the rate detector's windows."""

    def find(self, shop: str, gid: str) -> DiscountRecord | None: ...

    def for_shop(self, shop: str) -> list[DiscountRecord]: ...

    def needing_terms(self, limit: int) -> list[DiscountRecord]:
        """Discounts whose terms must be (re)read from the Admin API: never tried first, then oldest try."""

    def put(self, record: DiscountRecord) -> None: ...

    def find_incident(self, incident_id: str) -> DiscountIncident | None: ...

    def put_incident(self, incident: DiscountIncident) -> None: ...

    def incidents(self, shop: str | None = None) -> list[DiscountIncident]:
        """Incidents in the order they were detected (``paused_at`` is not stored: see the service)."""

    def windows(self, shop: str, subject: str, since: datetime) -> list[RateWindow]:
        """The windows of a subject starting at or after ``since``, oldest first."""

    def put_window(self, window: RateWindow) -> None: ...

    def old_windows(self, before: datetime, after: WindowMark | None, limit: int) -> list[RateWindow]:
        """Up to ``limit`` windows that started before ``before``, by (start, shop, subject) after ``after``
        (None: from the first); reads no other window."""

    def remove_windows(self, windows: Iterable[RateWindow]) -> int:
        """Delete these windows; how many there were."""

    def put_cost(self, shop: str, sku: str, cost: Decimal, at: datetime) -> None:
        """Record an item's unit cost (``inventory_items/*``) unless a newer one is stored."""

    def costs(self, shop: str, skus: Iterable[str]) -> dict[str, Decimal]:
        """The recorded unit cost of each of these SKUs that has one."""


class PickupRepository(Protocol):
    def record_missed(self, missed: MissedPickup) -> bool:
        """Record a missed pickup once; False when it was recorded before."""

    def missed(self, shop: str | None = None, since: datetime | None = None) -> list[MissedPickup]:
        """Missed pickups (of a shop, from ``since``), in pickup order."""


class PrivacyRepository(Protocol):
    """Every stored field that may hold a customer's personal data (privacy requests, ADR 0016)."""

    def orders_of(self, shop: str, customer_id: int | None, email: str) -> set[int]:
        """The shop's orders of the customer with this id or this email."""

    def rows(self, subject: PrivacySubject, terms: Sequence[str]) -> list[StoredRow]:
        """Rows of the subject's orders and cases, and rows of the shop (or shop-less) mentioning a term."""

    def shop_audit(self, shop: str) -> list[StoredRow]:
        """The audit rows about a shop's cases and orders, or that name the shop."""

    def rewrite(self, row: StoredRow, values: Mapping[str, object]) -> None: ...

    def erase_shop(self, shop: str) -> dict[str, int]:
        """Delete every row of a shop (its recorded erasures too); how many rows went, by table."""

    def begin_erasure(self) -> None:
        """Wait until no transaction holds the erasures (``erasures_version(hold=True)``), then keep them
        waiting until this one ends: call it before reading what to erase, so that every delivery stored
        meanwhile is either read by the erasure or stored knowing of it."""

    def record_erasure(self, erasure: Erasure) -> None:
        """Record that a customer was erased (ids only): their later deliveries are erased on arrival."""

    def erasures(self) -> list[Erasure]:
        """Every erasure recorded, oldest first."""

    def erasures_version(self, *, hold: bool = False) -> int:
        """A number that changes whenever an erasure is recorded or a shop's are deleted. With ``hold``,
        no erasure begins (``begin_erasure``) until this transaction ends."""


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


class Connector(Protocol):
    """Sends one kind of outbound action to one provider (Shopify, SMTP, ...)."""

    provider: str

    def send(self, action: OutboxAction) -> SendResult: ...
