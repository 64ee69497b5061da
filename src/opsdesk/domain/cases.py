"""The case: one model for every exception a person must handle, its statuses and what a change records.

Its transitions (open, claim, assign, wait, resolve, ...) are in ``case_transitions``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from opsdesk.domain.case_keys import key_or_id
from opsdesk.domain.records import CaseRecord


class CaseStatus(enum.Enum):
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_SUPPLIER = "waiting_supplier"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def active(self) -> bool:
        """Open for work: not resolved or closed."""
        return self not in {CaseStatus.RESOLVED, CaseStatus.CLOSED}

    @property
    def waiting(self) -> bool:
        return self in {CaseStatus.WAITING_CUSTOMER, CaseStatus.WAITING_SUPPLIER}


CASE_KINDS = frozenset(
    {
        "order",
        "fulfilment",
        "return",
        "refund",
        "dispute",
        "discount",
        "inventory",
        "payment",
        "automation_failure",
        # opened by the monitors: an address refused and unanswered, a stuck order, a repeated wrong item,
        # an incident (a carrier or the email provider down)
        "address",
        "stuck_order",
        "quality",
        "incident",
    }
)

#: What a person may decide when resolving a case; each becomes outbox actions like an automated decision.
RESOLUTIONS = frozenset({"approve_refund", "deny", "reship", "release_hold", "pause_discount", "no_action"})

#: How many repeated signals a case keeps in its detail (the newest).
MAX_SIGNALS = 50


def join_key(shop: str, order_id: int | None, kind: str, detail: Mapping[str, Any]) -> str | None:
    """What an active case stands for, so that a repeated signal joins it instead of opening another: its
    order and kind; for a case about a stock level (``detail["stock"]`` of an inventory item at a location, no
    order), that item at that location. None: each such case stands alone."""
    if order_id is not None:
        return f"{shop}|{order_id}|{kind}"
    stock = detail.get("stock")
    if isinstance(stock, Mapping) and stock.get("inventory_item_id") is not None and stock.get("location_id"):
        return f"{stock_key(shop, stock['inventory_item_id'])}{stock['location_id']}|{kind}"
    return None


def stock_key(shop: str, inventory_item_id: object) -> str:
    """How the join keys of the cases about an item's stock begin, whatever their location and kind."""
    return f"{shop}|stock:{inventory_item_id}@"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    shop: str
    kind: str
    queue: str
    title: str
    reason: str
    opened_at: datetime
    status: CaseStatus = CaseStatus.OPEN
    owner: str | None = None
    priority: str = "normal"
    order_id: int | None = None
    source: str = ""
    version: int = 1
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    escalation_level: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    #: The desk's number for the case, given when it is stored (``None`` before): its key is ``C-<number>``.
    number: int | None = None

    @property
    def key(self) -> str:
        """The short name people read and type (``C-1042``; ADR 0029)."""
        return key_or_id(self.number, self.id)

    def as_record(self) -> CaseRecord:
        """The case as the record that opened it (what the pipeline and order views carry)."""
        return CaseRecord(
            id=self.id,
            shop=self.shop,
            kind=self.kind,
            queue=self.queue,
            title=self.title,
            reason=self.reason,
            opened_at=self.opened_at,
            order_id=self.order_id,
            source=self.source,
            priority=self.priority,
            status=self.status.value,
            detail=self.detail,
            number=self.number,
        )

    @property
    def person(self) -> str | None:
        """The owner when it is a person (a team owner is ``team:<name>``)."""
        return self.owner if self.owner and not self.owner.startswith("team:") else None


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One entry of a case's timeline and of the audit log."""

    case_id: str
    at: datetime
    actor: str
    kind: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Changed:
    case: Case
    change: CaseChange


def describe(status: CaseStatus) -> str:
    match status:
        case CaseStatus.OPEN:
            return "waiting for an owner"
        case CaseStatus.ASSIGNED:
            return "owned, not started"
        case CaseStatus.IN_PROGRESS:
            return "being worked on"
        case CaseStatus.WAITING_CUSTOMER:
            return "waiting on the customer (SLA paused)"
        case CaseStatus.WAITING_SUPPLIER:
            return "waiting on a supplier (SLA paused)"
        case CaseStatus.RESOLVED:
            return "resolved"
        case CaseStatus.CLOSED:
            return "closed"
        case _:
            assert_never(status)
