"""The repositories of the webhook pipeline: deliveries in, orders, decisions and usage, outbox actions out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import DecisionRecord, OutboxAction, RawDelivery, StoredDelivery


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

    def hold_shop(self, provider: str, shop: str, until: datetime) -> int:
        """Make every pending action of ``shop`` for ``provider`` due no sooner than ``until`` (its credentials are
        refused: ADR 0067); returns how many were held. Their attempts and leases are left as they are."""

    def release_shop(self, provider: str, shop: str, now: datetime) -> int:
        """The shop's credentials for ``provider`` work again at ``now``: make each of its pending actions for it that
        waits past ``now`` due when ``domain.outbox.released_at`` says (at once, or when a retry of its own is due);
        returns how many were moved. Their attempts and leases are left as they are."""

    def cancel(self, actions: Sequence[OutboxAction]) -> int:
        """Write the outcome of actions that were never claimed (failed before they could go, ADR 0042), each
        only while it is still pending; returns how many were written."""

    def for_order(self, shop: str, order_id: int) -> list[OutboxAction]: ...

    def for_orders(self, shop: str, order_ids: Iterable[int], kind: str) -> dict[int, list[OutboxAction]]:
        """The actions of one ``kind`` of a shop's orders, by order, each order's in creation order (as
        ``for_order``); an order with none is left out."""

    def get(self, action_id: str) -> OutboxAction: ...

    def count(self, status: str | None = None) -> int: ...


class UsageRepository(Protocol):
    def get_many(self, keys: Iterable[str]) -> dict[str, Usage]: ...

    def put_many(self, usage: dict[str, Usage]) -> None: ...

    def keys(self, after: str, limit: int) -> list[str]:
        """Up to ``limit`` stored keys that sort after ``after``, in order (a sweep reads them page by page)."""

    def remove(self, keys: Iterable[str]) -> int:
        """Delete the rows of these keys; returns how many there were."""
