"""One batch of the pipeline: the keys it works by, what it gathers before its single flush, what it reports.

Decision ids are derived from (shop, event key, playbook), so a fact delivered twice, or replayed after a
crash, is decided once; the batch works each one out once (``Batch.ids``) for every read of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from opsdesk.domain.events import OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import CaseRecord, DecisionRecord, OutboxAction
from opsdesk.ports.pipeline import UsageRepository

OrderKey = tuple[ShopDomain, OrderId]


@dataclass(frozen=True, slots=True)
class ShopDefaults:
    owner: str = "team:ops"
    handling: timedelta = timedelta(hours=48)


@dataclass(slots=True)
class BatchReport:
    deliveries: int = 0
    events: int = 0
    ignored: int = 0
    failed: int = 0
    held: int = 0
    waiting: int = 0
    requeued: int = 0
    decisions: int = 0
    automated: int = 0
    escalated: int = 0
    actions: int = 0
    cases: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def add(self, other: BatchReport) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def decision_id(shop: str, event_key: str, playbook: str) -> str:
    return hashlib.blake2b(f"{shop}|{event_key}|{playbook}".encode(), digest_size=16).hexdigest()


class UsageLedger:
    """Guardrail usage read lazily from storage and accumulated across one batch."""

    def __init__(self, repo: UsageRepository) -> None:
        self._repo = repo
        self.values: dict[str, Usage] = {}
        self.changed: dict[str, Usage] = {}

    def get(self, key: str, default: Usage | None = None) -> Usage | None:
        if key not in self.values:
            self.values.update(self._repo.get_many([key]) or {key: Usage()})
        return self.values.get(key, default)

    def consume(self, usage: dict[str, Usage]) -> None:
        self.values.update(usage)
        self.changed.update(usage)


@dataclass(slots=True)
class Batch:
    """What one batch will write, gathered before a single flush."""

    states: dict[OrderKey, OrderState] = field(default_factory=dict)
    touched: set[OrderKey] = field(default_factory=set)
    decisions: list[DecisionRecord] = field(default_factory=list)
    actions: list[OutboxAction] = field(default_factory=list)
    cases: list[CaseRecord] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    done: dict[str, list[int]] = field(default_factory=dict)
    arrived: set[OrderKey] = field(default_factory=set)
    requeued: int = 0
    fresh: list[StoreEvent] = field(default_factory=list)
    defaults: dict[str, ShopDefaults] = field(default_factory=dict)
    #: Decision ids by (shop, event key, playbook), worked out once for the read of those decided before.
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)


def batch_decision_id(batch: Batch, shop: str, event_key: str, playbook: str) -> str:
    """``decision_id``, as the batch worked it out already when it did."""
    found = batch.ids.get((shop, event_key, playbook))
    return decision_id(shop, event_key, playbook) if found is None else found
