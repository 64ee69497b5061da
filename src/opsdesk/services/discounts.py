"""Discount guardrails at work: watch discounts and orders, pause a bad discount, open a ``pricing`` case.

Three detectors feed one incident per discount (see ``domain/discounts.py``):

- the preflight, when a discount's terms have been read from the Admin API (``inspect_pending``; the
  ``discounts/*`` webhooks carry only the id, title and status);
- the margin guard, on every order (``DiscountGuard.watch``, a pipeline watcher, in the batch's
  transaction): an effective discount above the maximum, a line below its cost floor;
- the rate detectors, on every new order: the shop's discount share of revenue against its rolling
  baseline, and each code's use (a spike, a leak to new accounts).

When the policy allows it for what was found, the discount is paused at once: a ``deactivate_discount``
outbox action written in the same transaction, sent by the outbox like any other effect. A ``pricing``
case opens with the money at risk so far; later bad orders add to the incident, never a second pause or
case. The pause time is read from the pause action's outcome, so the time from the first bad order to
the pause is known for every incident (``list_incidents``).

This module is the guard and its margin guard; the rate detectors are ``services/discount_rates.py``,
the pause and the case ``services/discount_response.py``, the reading of terms ``services/discount_terms.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from opsdesk.domain.discounts import (
    DiscountRecord,
    DiscountTerms,
    GuardPolicy,
    Line,
    OrderCheck,
    Violation,
    check_order,
    preflight,
)
from opsdesk.domain.events import (
    DiscountChange,
    DiscountChanged,
    InventoryItemChanged,
    OrderChange,
    OrderChanged,
    OrderSnapshot,
    StoreEvent,
)
from opsdesk.domain.orders import OrderState
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks
from opsdesk.services.discount_batch import BatchState
from opsdesk.services.discount_incidents import (
    counted_before,
    current_incident,
    incident_key,
    incident_summary,
    list_incidents,
    short_id,
)
from opsdesk.services.discount_rates import RateDetectors
from opsdesk.services.discount_response import DiscountResponse, recorded_incident

VIOLATIONS = frozenset(v.value for v in Violation)


@dataclass(frozen=True)
class DiscountGuard:
    policy: GuardPolicy
    hooks_provider: Callable[[], CaseHooks]
    owner: str = "team:ops"
    queue: str = "pricing"
    priority: str = "high"

    @cached_property
    def _respond(self) -> DiscountResponse:
        return DiscountResponse(
            self.policy.pause_on, self.hooks_provider, self.owner, self.queue, self.priority
        )

    @cached_property
    def _rates(self) -> RateDetectors:
        return RateDetectors(self.policy, self._respond)

    # -- the pipeline watcher ------------------------------------------------------------------------

    def watch(
        self, uow: UnitOfWork, events: Sequence[StoreEvent], states: Mapping[Any, OrderState], now: datetime
    ) -> None:
        """Take note of discounts and check orders: the pipeline calls this once per batch."""
        windows = BatchState(uow)
        windows.read_costs(self._skus_to_cost(events))
        for event in events:
            if isinstance(event, DiscountChanged):
                self._heard(uow, event, now)
                windows.discounts_changed(event.shop)
            elif isinstance(event, OrderChanged) and event.order.cancelled_at is None:
                self._order(uow, event, windows, now)
            elif isinstance(event, InventoryItemChanged) and event.cost is not None and event.sku:
                uow.discounts.put_cost(event.shop, event.sku, event.cost, event.occurred_at)
                windows.cost_changed(event.shop, event.sku)
        windows.flush()

    def _skus_to_cost(self, events: Sequence[StoreEvent]) -> dict[str, set[str]]:
        """By shop, the SKUs whose recorded cost the batch's orders need (one read for them all)."""
        wanted: dict[str, set[str]] = {}
        for event in events:
            if isinstance(event, OrderChanged) and event.order.cancelled_at is None:
                skus = (li.sku for li in event.order.line_items if li.sku and li.sku not in self.policy.costs)
                wanted.setdefault(event.shop, set()).update(skus)
        return wanted

    def _heard(self, uow: UnitOfWork, event: DiscountChanged, now: datetime) -> None:
        known = uow.discounts.find(event.shop, event.discount_gid)
        if known is not None and known.seen_at > event.occurred_at:
            return  # a stale delivery: a newer change was heard already
        deleted = event.change is DiscountChange.DELETED
        status = "DELETED" if deleted else (event.status or (known.status if known else ""))
        base = known or DiscountRecord(event.shop, event.discount_gid, event.title, status, event.occurred_at)
        # Every create or update is read again: the terms may have changed with it.
        record = replace(
            base,
            title=event.title or base.title,
            status=status,
            seen_at=event.occurred_at,
            needs_terms=not deleted,
        )
        uow.discounts.put(record)
        # Orders may name a discount (by title) before its webhook arrives: now it can be paused.
        _, waiting = current_incident(uow, short_id("disc", event.shop, incident_key(record)))
        if waiting is not None and waiting.pause_action_id is None:
            found = {Violation(v) for v in waiting.violations if v in VIOLATIONS}
            self._respond.act(uow, replace(waiting, discount_gid=record.gid), found, record, now)

    def _order(self, uow: UnitOfWork, event: OrderChanged, windows: BatchState, now: datetime) -> None:
        snap = event.order
        lines = [Line(li.sku, li.quantity, li.price, li.total_discount) for li in snap.line_items]
        # Costs from the store's inventory items; a cost in the configuration overrides them.
        recorded = windows.costs(
            event.shop, [li.sku for li in lines if li.sku and li.sku not in self.policy.costs]
        )
        policy = replace(self.policy, costs={**recorded, **self.policy.costs}) if recorded else self.policy
        check = check_order(lines, snap.total_discounts.amount, policy)
        record = self._attributed(windows, event.shop, snap)
        if check.violations:
            self._bad_order(uow, event.shop, snap, check, record, now)
        if event.change is OrderChange.CREATED:
            self._rates.count(uow, windows, event.shop, snap, check, record, now)

    def _attributed(self, windows: BatchState, shop: str, snap: OrderSnapshot) -> DiscountRecord | None:
        """The known discount the order used (by title or code), the first one if several."""
        applied = [*snap.applied_discounts, *snap.discount_codes]
        known = windows.discounts(shop) if applied else []
        return next((d for name in applied for d in known if d.matches(name)), None)

    def _bad_order(
        self,
        uow: UnitOfWork,
        shop: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        applied = (*snap.applied_discounts, *snap.discount_codes)
        subject = (
            incident_key(record) if record else (applied[0].strip().casefold() if applied else "(manual)")
        )
        name = record.title if record else (applied[0] if applied else "(manual)")
        base = short_id("disc", shop, subject)
        if counted_before(uow, base, snap.id):
            return  # a later update of an order an earlier, finished incident counted
        incident = recorded_incident(uow, base, shop, record, name, "glitch", now)
        incident = incident.with_order(snap.id, snap.created_at, check)
        incident = replace(incident, currency=incident.currency or snap.currency)
        # Not known by its id (no discounts/* webhook yet, or created before opsdesk): a code can name it.
        code = "" if record else next((c for c in snap.discount_codes if c.strip().casefold() == subject), "")
        self._respond.act(uow, incident, set(check.violations), record, now, code=code)

    # -- the preflight, after the terms are read -----------------------------------------------------

    def checked(
        self, uow: UnitOfWork, read: DiscountRecord, terms: DiscountTerms | None, now: datetime
    ) -> None:
        """Store what the Admin API said about a discount and run the preflight on it."""
        current = uow.discounts.find(read.shop, read.gid) or read
        again = current.seen_at > read.seen_at  # changed again while we were reading: read once more
        # A kind of discount the query does not read (buy X get Y, free shipping, app) comes back without
        # its title and status: keep what the webhook said rather than forget them.
        if terms is not None:
            terms = replace(terms, title=terms.title or current.title, status=terms.status or current.status)
        status = terms.status if terms else "DELETED"
        violations = preflight(terms, self.policy) if terms else ()
        uow.discounts.put(
            replace(
                current,
                terms=terms,
                status=status,
                needs_terms=again,
                checked_at=now,
                title=terms.title if terms else current.title,  # never empty: see above
                violations=tuple(v.value for v in violations),
            )
        )
        if violations and terms is not None:
            record = replace(current, terms=terms, status=status)
            iid = short_id("disc", read.shop, incident_key(record))
            incident = recorded_incident(uow, iid, read.shop, record, record.title, "preflight", now)
            incident = replace(
                incident,
                violations=tuple(dict.fromkeys((*incident.violations, *(v.value for v in violations)))),
            )
            self._respond.act(uow, incident, set(violations), record, now)


# list_incidents and incident_summary live in services/discount_incidents.py; the CLI reads them from here.
__all__ = ["DiscountGuard", "incident_summary", "list_incidents"]
