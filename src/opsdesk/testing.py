"""Public test doubles: a manual clock, in-memory repositories and a recording connector.

The in-memory database passes the same repository contract suite as SQLite and PostgreSQL
(tests/contract), so services can be tested against it and trusted on the real ones.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from opsdesk import ports
from opsdesk.domain.access import Session, User
from opsdesk.domain.audit import ChainedRow
from opsdesk.domain.case_keys import key_number
from opsdesk.domain.cases import Case, CaseChange, CaseStatus, Changed
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord, RateWindow
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.inventory import StockLevel
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import ActionStatus, Delivered, SendResult
from opsdesk.domain.pickups import MissedPickup
from opsdesk.domain.policies import Usage
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
from opsdesk.storage.codec import dumps, loads
from opsdesk.testing_access import MemoryAudit, MemorySessions, MemoryUsers
from opsdesk.testing_discounts_pickups import MemoryDiscounts, MemoryPickups
from opsdesk.testing_followups import MemoryFollowups
from opsdesk.testing_privacy import MemoryPrivacy

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


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


def _utc(record: R) -> R:
    """The record with its datetimes in UTC, as a SQL column gives them back."""
    changes: dict[str, datetime] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database; use timezone-aware UTC")
            changes[f.name] = value.astimezone(UTC)
    return replace(record, **changes) if changes else record


def _json(value: Any) -> Any:
    """A document as a SQL table gives it back: Decimals and datetimes as strings, tuples as lists."""
    return loads(dumps(value))


def _action(a: OutboxAction) -> OutboxAction:
    return replace(_utc(a), payload=_json(a.payload), history=tuple(_json(a.history)))


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


class _Deliveries:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def add(self, deliveries: Sequence[RawDelivery]) -> int:
        new = 0
        for d in deliveries:
            if (d.shop, d.webhook_id) in self.t.delivery_keys:
                continue
            self.t.delivery_keys.add((d.shop, d.webhook_id))
            next_id = max(self.t.deliveries, default=0) + 1  # ids are never reused, as in SQL
            self.t.deliveries[next_id] = StoredDelivery(next_id, _utc(d))
            self.t.delivery_status[next_id] = ("pending", "")
            new += 1
        return new

    def store(self, deliveries: Sequence[RawDelivery]) -> list[StoredDelivery]:
        first = max(self.t.deliveries, default=0) + 1
        self.add(deliveries)
        return [d for i, d in sorted(self.t.deliveries.items()) if i >= first]

    def prune(self, after: int, limit: int, received_before: datetime) -> tuple[int, int, bool]:
        page = [i for i in sorted(self.t.deliveries) if i > after][:limit]
        cursor, deleted, reached = after, 0, len(page) < limit
        for i in page:
            if self.t.deliveries[i].delivery.received_at >= received_before:
                reached = True
                break
            if self.t.delivery_status[i][0] in ("processed", "ignored"):
                gone = self.t.deliveries.pop(i).delivery
                del self.t.delivery_status[i]
                self.t.delivery_keys.discard((gone.shop, gone.webhook_id))
                deleted += 1
            cursor = i
        return cursor, deleted, reached

    def pending(self, limit: int, after_id: int = 0) -> list[StoredDelivery]:
        ids = [i for i, (s, _) in sorted(self.t.delivery_status.items()) if s == "pending" and i > after_id]
        return [self.t.deliveries[i] for i in ids[:limit]]

    def claim_pending(self, ids: Sequence[int]) -> set[int]:
        return {i for i in ids if self.t.delivery_status.get(i, ("", ""))[0] == "pending"}

    def mark_processed(self, ids: Iterable[int], status: str = "processed", error: str = "") -> None:
        for i in ids:
            if i in self.t.deliveries:
                self.t.delivery_status[i] = (status, error)

    def requeue_waiting(self, shop: str, order_ids: Iterable[int]) -> int:
        waited_for = {f"order:{order_id}" for order_id in order_ids}
        ids = [
            i
            for i, (s, e) in self.t.delivery_status.items()
            if s == "waiting" and e in waited_for and self.t.deliveries[i].delivery.shop == shop
        ]
        self.mark_processed(ids, "pending", "")
        return len(ids)

    def release_waiting(self, received_before: datetime) -> int:
        ids = [
            i
            for i, (s, e) in self.t.delivery_status.items()
            if s == "waiting" and self.t.deliveries[i].delivery.received_at < received_before
        ]
        for i in ids:
            self.t.delivery_status[i] = ("pending", self.t.delivery_status[i][1])
        return len(ids)

    def oldest_waiting(self) -> datetime | None:
        waiting = [self.t.deliveries[i].delivery.received_at for i, (s, _) in self.t.delivery_status.items()
                   if s == "waiting"]
        return min(waiting, default=None)

    def count(self, status: str | None = None) -> int:
        return sum(1 for s, _ in self.t.delivery_status.values() if status is None or s == status)

    def get(self, delivery_id: int) -> StoredDelivery:
        if delivery_id not in self.t.deliveries:
            raise NotFound(f"no delivery {delivery_id}")
        return self.t.deliveries[delivery_id]


class _Orders:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def get_many(
        self, keys: Iterable[tuple[ShopDomain, OrderId]]
    ) -> dict[tuple[ShopDomain, OrderId], OrderState]:
        return {k: self.t.orders[k] for k in keys if k in self.t.orders}

    def find(self, shop: ShopDomain, order_id: OrderId) -> OrderState | None:
        return self.t.orders.get((shop, order_id))

    def find_by_id(self, order_id: OrderId) -> list[OrderState]:
        return sorted((s for (_, i), s in self.t.orders.items() if i == order_id), key=lambda s: s.shop)

    def search(self, term: str, limit: int = 20) -> list[OrderState]:
        number = term.strip().removeprefix("#")
        if not number:
            return []

        def matches(s: OrderState) -> bool:
            snap = s.snapshot
            named = snap is not None and (snap.name.removeprefix("#") == number or snap.email.lower() == number.lower())
            return named or str(s.order_id) == number

        found = sorted((s for s in self.t.orders.values() if matches(s)), key=lambda s: s.shop)
        return sorted(found, key=lambda s: s.last_event_at or datetime.min.replace(tzinfo=UTC), reverse=True)[:limit]

    def put_many(self, states: Iterable[OrderState]) -> None:
        for s in states:
            self.t.orders[(s.shop, s.order_id)] = _utc(s)


class _Decisions:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def seen(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if i in self.t.decisions}

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None:
        for d in decisions:
            if d.id not in self.t.decisions:
                self.t.decisions[d.id] = replace(_utc(d), inputs=_json(d.inputs))

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]:
        found = [d for d in self.t.decisions.values() if d.shop == shop and d.order_id == order_id]
        return sorted(found, key=lambda d: (d.decided_at, d.id))

    def history(
        self, since: datetime, until: datetime | None, after: tuple[datetime, int, str] | None, limit: int
    ) -> list[DecisionRecord]:
        def key(d: DecisionRecord) -> tuple[datetime, int, str]:
            return (d.decided_at, d.delivery_id or 0, d.id)

        found = sorted((d for d in self.t.decisions.values() if _taken(d, since, until)), key=key)
        return [d for d in found if after is None or key(d) > after][:limit]

    def count_between(self, since: datetime, until: datetime | None) -> int:
        return sum(1 for d in self.t.decisions.values() if _taken(d, since, until))

    def outcomes_by_day(self, since: datetime) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for d in self.t.decisions.values():
            if d.decided_at >= since:
                day = found.setdefault(d.decided_at.astimezone(UTC).date().isoformat(), {})
                day[d.outcome] = day.get(d.outcome, 0) + 1
        return found


def _taken(d: DecisionRecord, since: datetime, until: datetime | None) -> bool:
    return d.decided_at >= since and (until is None or d.decided_at < until)


class _Outbox:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def add_many(self, actions: Sequence[OutboxAction]) -> None:
        for a in actions:
            if a.id not in self.t.actions:
                self.t.actions[a.id] = _action(a)

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[OutboxAction]:
        due = sorted(
            (
                a
                for a in self.t.actions.values()
                if a.status is ActionStatus.PENDING
                and a.next_attempt_at <= now
                and (a.id not in self.t.leases or self.t.leases[a.id][1] < now)
            ),
            key=lambda a: (a.next_attempt_at, a.id),
        )[:limit]
        for a in due:
            self.t.leases[a.id] = (worker, lease_until)
        return due

    def next_due_at(self) -> datetime | None:
        due = [a.next_attempt_at for a in self.t.actions.values() if a.status is ActionStatus.PENDING]
        return min(due) if due else None

    def save(self, action: OutboxAction, *, worker: str) -> bool:
        lease = self.t.leases.get(action.id)
        if lease is None or lease[0] != worker:
            return False
        del self.t.leases[action.id]
        saved = _action(action)
        self.t.actions[action.id] = replace(
            self.t.actions[action.id], status=saved.status, attempts=saved.attempts,
            next_attempt_at=saved.next_attempt_at, last_error=saved.last_error, history=saved.history,
        )
        return True

    def get(self, action_id: str) -> OutboxAction:
        if action_id not in self.t.actions:
            raise NotFound(f"no action {action_id}")
        return self.t.actions[action_id]

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]:
        found = [a for a in self.t.actions.values() if a.shop == shop and a.order_id == order_id]
        return sorted(found, key=lambda a: (a.created_at, a.id))

    def for_orders(self, shop: str, order_ids: Iterable[int], kind: str) -> dict[int, list[OutboxAction]]:
        found = {order_id: [a for a in self.for_order(shop, order_id) if a.kind == kind] for order_id in order_ids}
        return {order_id: actions for order_id, actions in found.items() if actions}

    def count(self, status: str | None = None) -> int:
        return sum(1 for a in self.t.actions.values() if status is None or a.status.value == status)


class _Cases:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def open(self, case: CaseRecord) -> CaseRecord:
        if case.id in self.t.cases:
            return _record(self.t.cases[case.id])
        for existing in self.t.cases.values():
            if (
                case.order_id is not None
                and case.status != "closed"
                and existing.status.active
                and existing.shop == case.shop
                and existing.order_id == case.order_id
                and existing.kind == case.kind
            ):
                return _record(existing)
        self.t.cases_numbered += 1
        stored = replace(_utc(case), detail=_json(case.detail), number=self.t.cases_numbered)
        self.t.cases[case.id] = _full(stored)
        return replace(case, number=stored.number)

    def for_order(self, shop: str, order_id: int) -> list[CaseRecord]:
        return [
            _record(c)
            for c in sorted(
                (c for c in self.t.cases.values() if c.shop == shop and c.order_id == order_id),
                key=lambda c: (c.opened_at, c.id),
            )
        ]

    def for_orders(self, shop: str, order_ids: Iterable[int]) -> dict[int, list[CaseRecord]]:
        found = {order_id: self.for_order(shop, order_id) for order_id in set(order_ids)}
        return {order_id: cases for order_id, cases in found.items() if cases}

    def list_open(self, limit: int = 100) -> list[CaseRecord]:
        return [
            _record(c)
            for c in sorted(
                (c for c in self.t.cases.values() if c.status is not CaseStatus.CLOSED),
                key=lambda c: (c.opened_at, c.id),
            )[:limit]
        ]

    def get(self, case_id: str) -> Case:
        found = self.t.cases.get(case_id)
        number = key_number(case_id) if found is None else None
        if number is not None:
            found = next((c for c in self.t.cases.values() if c.number == number), None)
        if found is None:
            raise NotFound(f"no case {case_id}")
        return found

    def save(self, changed: Changed, expected_version: int) -> bool:
        case = changed.case
        current = self.t.cases.get(case.id)
        if current is None or current.version != expected_version:
            return False
        if case.status.active and not current.status.active and case.order_id is not None:
            for other in self.t.cases.values():
                if (
                    other.id != case.id
                    and other.status.active
                    and other.shop == case.shop
                    and other.order_id == case.order_id
                    and other.kind == case.kind
                ):
                    raise Conflict(f"another {case.kind} case is open for order {case.order_id}")
        # As in SQL: a save leaves the deadline alone (``set_due`` moves it) until the case ends.
        due = current.due_at if case.status.active else None
        self.t.cases[case.id] = replace(case, detail=_json(case.detail), due_at=due)
        self.t.changes.append(
            replace(changed.change, before=_json(changed.change.before), after=_json(changed.change.after))
        )
        return True

    def set_due(self, case_id: str, due_at: datetime | None) -> None:
        self.t.cases[case_id] = replace(self.t.cases[case_id], due_at=_utc_or_none(due_at))

    def timeline(self, case_id: str) -> list[CaseChange]:
        return [c for c in self.t.changes if c.case_id == case_id]

    def search(self, where: CaseFilter, limit: int = 50, offset: int = 0) -> list[Case]:
        found = [c for c in self.t.cases.values() if _matches(c, where)]
        far = datetime.max.replace(tzinfo=UTC)
        found.sort(key=lambda c: (c.due_at is None, c.due_at or far, c.opened_at, c.id))
        return found[offset : offset + limit]

    def count(self, where: CaseFilter) -> int:
        return sum(1 for c in self.t.cases.values() if _matches(c, where))


def _matches(case: Case, where: CaseFilter) -> bool:
    if where.status:
        if case.status.value not in where.status:
            return False
    elif where.active_only and not case.status.active:
        return False
    pairs = (
        (case.queue, where.queue),
        (case.owner, where.owner),
        (case.kind, where.kind),
        (case.shop, where.shop),
    )
    if any(wanted is not None and value != wanted for value, wanted in pairs):
        return False
    return where.due_before is None or (case.due_at is not None and case.due_at < where.due_before)


def _full(record: CaseRecord) -> Case:
    return Case(
        id=record.id,
        shop=record.shop,
        kind=record.kind,
        queue=record.queue,
        title=record.title,
        reason=record.reason,
        opened_at=record.opened_at,
        status=CaseStatus(record.status),
        priority=record.priority,
        order_id=record.order_id,
        source=record.source,
        detail=record.detail,
        number=record.number,
    )


def _record(case: Case) -> CaseRecord:
    return case.as_record()


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class _Timers:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def schedule(self, timers: Sequence[Timer]) -> None:
        for timer in timers:
            self.t.timers[timer.id] = replace(
                timer,
                due_at=timer.due_at.astimezone(UTC),
                payload=_json(timer.payload),
                status="pending",
                attempts=0,
                last_error="",
            )
            self.t.timer_leases.pop(timer.id, None)

    def cancel(self, subject: str, kinds: Iterable[str] = ()) -> int:
        wanted = set(kinds)
        hits = [
            x
            for x in self.t.timers.values()
            if x.subject == subject and x.status == "pending" and (not wanted or x.kind in wanted)
        ]
        for x in hits:
            self.t.timers[x.id] = replace(x, status="cancelled")
        return len(hits)

    def cancel_many(self, subjects: Iterable[str], kinds: Iterable[str] = ()) -> set[str]:
        wanted = list(kinds)
        return {subject for subject in set(subjects) if self.cancel(subject, wanted)}

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[Timer]:
        due = sorted(
            (
                x
                for x in self.t.timers.values()
                if x.status == "pending"
                and x.due_at <= now
                and (x.id not in self.t.timer_leases or self.t.timer_leases[x.id][1] < now)
            ),
            key=lambda x: (x.due_at, x.id),
        )[:limit]
        for x in due:
            self.t.timer_leases[x.id] = (worker, lease_until)
        return due

    def next_due_at(self, now: datetime) -> datetime | None:
        due = [
            x.due_at
            for x in self.t.timers.values()
            if x.status == "pending"
            and (x.id not in self.t.timer_leases or self.t.timer_leases[x.id][1] < now)
        ]
        return min(due, default=None)

    def finish(
        self, timer_id: str, *, worker: str, at: datetime, error: str = "", retry_at: datetime | None = None
    ) -> bool:
        lease = self.t.timer_leases.get(timer_id)
        timer = self.t.timers.get(timer_id)
        if lease is None or lease[0] != worker or timer is None or timer.status != "pending":
            return False
        del self.t.timer_leases[timer_id]
        if not error:
            self.t.timers[timer_id] = replace(timer, status="fired", attempts=timer.attempts + 1)
        elif retry_at is not None:
            self.t.timers[timer_id] = replace(
                timer, due_at=retry_at, attempts=timer.attempts + 1, last_error=error
            )
        else:
            self.t.timers[timer_id] = replace(
                timer, status="failed", attempts=timer.attempts + 1, last_error=error
            )
        return True

    def pending(self, subject: str) -> list[Timer]:
        return sorted(
            (x for x in self.t.timers.values() if x.subject == subject and x.status == "pending"),
            key=lambda x: (x.due_at, x.id),
        )

    def pending_many(self, subjects: Iterable[str]) -> dict[str, list[Timer]]:
        return {subject: found for subject in set(subjects) if (found := self.pending(subject))}

    def prune(self, after: TimerMark | None, limit: int, due_before: datetime) -> tuple[TimerMark | None, int, int]:
        done = sorted((x.due_at, x.id) for x in self.t.timers.values()
                      if x.status in ("fired", "cancelled") and x.due_at < due_before)
        page = [mark for mark in done if after is None or mark > after][:limit]
        for _, timer_id in page:
            del self.t.timers[timer_id]
        return (page[-1] if len(page) == limit else None), len(page), len(page)

    def count(self, status: str | None = None) -> int:
        return sum(1 for x in self.t.timers.values() if status is None or x.status == status)


class _Usage:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]:
        return {k: self.t.usage[k] for k in keys if k in self.t.usage}

    def put_many(self, usage: dict[str, Usage]) -> None:
        self.t.usage.update(usage)

    def keys(self, after: str, limit: int) -> list[str]:
        return sorted(k for k in self.t.usage if k > after)[:limit]

    def remove(self, keys: Iterable[str]) -> int:
        return sum(self.t.usage.pop(k, None) is not None for k in set(keys))


class _Tokens:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def add(self, token: ApiToken) -> None:
        self.t.tokens[token.digest] = _utc(token)

    def find_by_digest(self, digest: str) -> ApiToken | None:
        return self.t.tokens.get(digest)


class _Readiness:
    def __init__(self, t: _Tables) -> None:
        self.t = t

    def _open_orders(self) -> list[OrderState]:
        def is_open(o: OrderState) -> bool:
            cancelled = o.snapshot is not None and o.snapshot.cancelled_at is not None
            over = o.fulfilment_status == "fulfilled" or o.payment_status in ("voided", "refunded")
            return not (cancelled or over)

        return [o for _, o in sorted(self.t.orders.items()) if is_open(o)]

    def unowned_orders(self, limit: int) -> tuple[int, list[OrderState]]:
        found = [o for o in self._open_orders() if not o.owner]
        return len(found), found[:limit]

    def overdue_orders(self, now: datetime, limit: int) -> tuple[int, list[OrderState]]:
        found = [o for o in self._open_orders() if o.ship_by is not None and o.ship_by < now]
        return len(found), found[:limit]

    def unowned_cases(self, limit: int) -> tuple[int, list[Case]]:
        found = sorted(
            (c for c in self.t.cases.values() if c.status.active and not c.owner), key=lambda c: (c.opened_at, c.id)
        )
        return len(found), found[:limit]

    def cases_of_kind(self, kind: str, opened_since: datetime) -> list[Case]:
        found = [
            c for c in self.t.cases.values()
            if c.kind == kind and (c.status.active or c.opened_at >= opened_since)
        ]
        return sorted(found, key=lambda c: (c.opened_at, c.id))

    def actions_of_kind(self, kind: str, created_since: datetime) -> list[OutboxAction]:
        found = [a for a in self.t.actions.values() if a.kind == kind and a.created_at >= created_since]
        return sorted(found, key=lambda a: a.created_at)

    def deliveries(self, topics: Sequence[str], since: datetime, limit: int) -> list[StoredDelivery]:
        found = [
            d for d in self.t.deliveries.values()
            if d.delivery.topic in topics and d.delivery.received_at >= since
        ]
        return sorted(found, key=lambda d: (d.delivery.received_at, d.id), reverse=True)[:limit]

    def count_deliveries(self, topics: Sequence[str], since: datetime) -> int:
        return len(self.deliveries(topics, since, len(self.t.deliveries)))

    def credentials(self) -> list[ApiToken]:
        return sorted((t for t in self.t.tokens.values() if not t.revoked), key=lambda t: (t.name, t.id))

    def add_review(self, review: PolicyReview) -> None:
        self.t.reviews.append(_utc(review))

    def latest_review(self, playbook: str) -> PolicyReview | None:
        found = [r for r in self.t.reviews if r.playbook == playbook]
        return max(reversed(found), key=lambda r: r.reviewed_at, default=None)

    def add_probe(self, probe: Probe) -> None:
        self.t.probes.append(_utc(probe))

    def latest_probe(self, kind: str, shop: str) -> Probe | None:
        found = [p for p in self.t.probes if p.kind == kind and p.shop == shop]
        return max(reversed(found), key=lambda p: p.at, default=None)


class _Inventory:
    def __init__(self, t: _Tables) -> None:
        self._t = t

    def record_level(
        self, shop: str, item_id: int, location_id: int, available: int | None, at: datetime
    ) -> bool:
        current = self._t.stock.get((shop, item_id, location_id))
        if current is not None and current.updated_at >= at:
            return False
        self._t.stock[(shop, item_id, location_id)] = StockLevel(shop, item_id, location_id, available, at)
        return True

    def record_item(self, shop: str, item_id: int, sku: str, tracked: bool) -> None:
        self._t.stock_items[(shop, item_id)] = (sku, tracked)

    def sku_of(self, shop: str, item_id: int) -> str | None:
        found = self._t.stock_items.get((shop, item_id))
        return found[0] or None if found else None

    def levels(self, shop: str, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        wanted, found = set(skus), dict[str, list[StockLevel]]()
        for (s, item, _), level in sorted(self._t.stock.items()):
            sku, tracked = self._t.stock_items.get((s, item), ("", False))
            if s == shop and tracked and sku in wanted:
                found.setdefault(sku, []).append(replace(level, sku=sku))
        return found

    def track_order(self, shop: str, order_id: int, skus: Iterable[str], open_: bool, at: datetime) -> None:
        self._t.order_skus.pop((shop, order_id), None)
        if open_ and (held := frozenset(skus)):
            self._t.order_skus[(shop, order_id)] = (held, at)

    def stock(
        self, shop: str, skus: Iterable[str], item_ids: Iterable[int]
    ) -> tuple[dict[int, tuple[str, bool]], list[StockLevel]]:
        wanted_skus, wanted_ids = set(skus), set(item_ids)
        items = {
            i: v for (s, i), v in self._t.stock_items.items() if s == shop and (v[0] in wanted_skus or i in wanted_ids)
        }
        ids = wanted_ids | set(items)
        return items, [x for (s, i, _), x in self._t.stock.items() if s == shop and i in ids]

    def put_levels(self, levels: Sequence[StockLevel]) -> None:
        for x in levels:
            self.record_level(x.shop, x.inventory_item_id, x.location_id, x.available, x.updated_at)

    def track_orders(self, orders: Mapping[tuple[str, int], tuple[Sequence[str], datetime]]) -> None:
        for (shop, order_id), (skus, at) in orders.items():
            self.track_order(shop, order_id, skus, bool(skus), at)

    def open_orders(self, shop: str, sku: str, limit: int = 100) -> list[int]:
        held = [(at, o) for (s, o), (skus, at) in self._t.order_skus.items() if s == shop and sku in skus]
        return [o for _, o in sorted(held, reverse=True)][:limit]

    def freshness(self, shop: str, limit: int = 100) -> tuple[datetime | None, list[StockLevel]]:
        mine = [level for (s, _, _), level in self._t.stock.items() if s == shop]
        negative = sorted(
            (replace(x, sku=self.sku_of(shop, x.inventory_item_id) or "") for x in mine
             if x.available is not None and x.available < 0),
            key=lambda x: (x.available or 0, x.inventory_item_id),
        )
        return max((x.updated_at for x in mine), default=None), negative[:limit]


class InMemoryUnitOfWork:
    """Works on a copy of the tables; ``commit`` publishes it, leaving without commit discards it."""

    deliveries: ports.DeliveryRepository
    orders: ports.OrderRepository
    decisions: ports.DecisionRepository
    outbox: ports.OutboxRepository
    cases: ports.CaseRepository
    usage: ports.UsageRepository
    followups: ports.FollowupRepository
    audit: ports.AuditRepository
    tokens: ports.TokenRepository
    timers: ports.TimerRepository
    readiness: ports.ReadinessRepository
    inventory: ports.InventoryRepository
    discounts: ports.DiscountRepository
    pickups: ports.PickupRepository
    users: ports.UserRepository
    sessions: ports.SessionRepository
    privacy: ports.PrivacyRepository

    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db

    def __enter__(self) -> Self:
        self._db.lock.acquire()
        self._tables = self._db.tables.clone()
        t = self._tables
        self.deliveries, self.orders, self.decisions = _Deliveries(t), _Orders(t), _Decisions(t)
        self.outbox, self.cases, self.usage = _Outbox(t), _Cases(t), _Usage(t)
        self.audit, self.tokens, self.timers = MemoryAudit(t), _Tokens(t), _Timers(t)
        self.users, self.sessions = MemoryUsers(t), MemorySessions(t)
        self.readiness = _Readiness(t)
        self.inventory = _Inventory(t)
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
