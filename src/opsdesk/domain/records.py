"""The records the core keeps: deliveries, decisions, outbox actions, cases, audit entries, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsdesk.domain.case_keys import key_or_id
from opsdesk.domain.outbox import ActionStatus


@dataclass(frozen=True, slots=True)
class RawDelivery:
    """A webhook delivery exactly as received: the raw body and the headers that matter."""

    shop: str
    webhook_id: str
    topic: str
    body: bytes
    received_at: datetime
    api_version: str = ""
    event_id: str = ""
    triggered_at: datetime | None = None
    known_shop: bool = True
    #: The body already parsed by intake, so that processing in the same pass need not parse it again.
    payload: Any = field(default=None, compare=False, repr=False)
    #: The body as storage keeps it, worked out ahead by a process with time to spare (the simulated store's,
    #: ADR 0023); None: storage packs the body itself. A new body must not keep its old body's.
    packed: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    id: int
    delivery: RawDelivery


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: str
    shop: str
    delivery_id: int | None
    order_id: int | None
    event_name: str
    event_key: str
    playbook: str
    rule_id: str
    policy_version: str
    outcome: str
    reason: str
    inputs: dict[str, Any]
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxAction:
    id: str
    decision_id: str
    shop: str
    order_id: int | None
    kind: str
    provider: str
    payload: dict[str, Any]
    idempotency_key: str
    created_at: datetime
    next_attempt_at: datetime
    status: ActionStatus = ActionStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    history: tuple[dict[str, Any], ...] = ()
    #: Its place among its decision's actions, which go out in that order (ADR 0042): it is not sent while an
    #: earlier one of its decision is pending, nor ever once one failed. 0: it waits for none (the first of a
    #: decision's, and what a decision does not order: a notification's channels, a monitor's follow-ups).
    position: int = 0


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """An exception a person must handle (the full case model grows on this seam)."""

    id: str
    shop: str
    kind: str
    queue: str
    title: str
    reason: str
    opened_at: datetime
    order_id: int | None = None
    source: str = ""
    priority: str = "normal"
    status: str = "open"
    detail: dict[str, Any] = field(default_factory=dict)
    #: Given by the repository when the case is stored (ADR 0029); ``None`` on a case not stored yet.
    number: int | None = None

    @property
    def key(self) -> str:
        """The short name people read and type (``C-1042``)."""
        return key_or_id(self.number, self.id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    name: str
    role: str
    digest: str
    created_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer: fired once, inside a transaction, at or after ``due_at``."""

    id: str
    kind: str
    subject: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class FollowupProgress:
    """How far an order's delayed-fulfilment follow-ups went: messages sent, when the first and the last went."""

    shop: str
    order_id: int
    sent: int
    started_at: datetime
    last_sent_at: datetime
    #: The row's id: stored rows are numbered in the order their follow-ups began (0 before it is stored).
    id: int = 0


#: Where a sweep along the timers' due times stands: the due time and id of the last timer it read.
TimerMark = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What a case list asks for; every field left empty matches everything."""

    queue: str | None = None
    owner: str | None = None
    status: tuple[str, ...] = ()
    kind: str | None = None
    shop: str | None = None
    due_before: datetime | None = None
    active_only: bool = True
