"""The pipeline: stored deliveries -> domain events -> order state and decisions -> outbox and cases.

One batch is one transaction. Decision ids are derived from (shop, event key, playbook), so a fact
delivered twice, or replayed after a crash, is decided once; action ids derive from decision ids.

This module is the ``Pipeline``: it sorts a prepared batch out, folds its events into order state and lets
the playbooks decide. Beside it: a delivery's events (``pipeline_events``), the batch's keys, writes and
report (``pipeline_batch``), what a decision writes (``pipeline_records``), and the draining of pending
deliveries batch by batch (``pipeline_drain``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.events import OrderChanged, StoreEvent
from opsdesk.domain.orders import OrderState, apply, promised_ship_by
from opsdesk.domain.policies import Playbook, decide
from opsdesk.domain.records import CaseRecord, StoredDelivery
from opsdesk.normalise.shopify import Ignored
from opsdesk.policy.cel import CelFacts
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.facts import facts_for, order_facts
from opsdesk.services.pipeline_batch import (
    Batch,
    BatchReport,
    OrderKey,
    ShopDefaults,
    UsageLedger,
    batch_decision_id,
    decision_id,
)
from opsdesk.services.pipeline_events import Keyed, Outcome_, Prepared, normalised
from opsdesk.services.pipeline_records import record, record_unheard

__all__ = ["CaseEnricher", "Pipeline", "Watcher"]

#: Called once per batch, in its transaction, with the events decided for the first time and the orders'
#: states after them: monitors arm their timers here (``watcher(uow, events, states, now)``).
Watcher = Callable[[UnitOfWork, Sequence[StoreEvent], Mapping[OrderKey, OrderState], datetime], None]
#: Adds what a person needs to a case before it opens (a dispute's evidence), in the batch's transaction.
CaseEnricher = Callable[[UnitOfWork, CaseRecord, datetime], CaseRecord]


class Pipeline:
    def __init__(
        self,
        playbooks: Sequence[Playbook],
        defaults: Callable[[str], ShopDefaults],
        wait_for_order: timedelta = timedelta(minutes=10),
        case_hooks: CaseHooks | None = None,
        order_owner: Callable[[str, Mapping[str, Any]], str] | None = None,
        watchers: Sequence[Watcher] = (),
        enrich_case: CaseEnricher | None = None,
    ) -> None:
        self.playbooks = tuple(playbooks)
        self._defaults = defaults
        self.wait_for_order = wait_for_order
        self.case_hooks = case_hooks or CaseHooks()
        self._order_owner = order_owner
        self.watchers = tuple(watchers)
        self._enrich_case = enrich_case
        self._listeners: dict[str, tuple[Playbook, ...]] = {}

    def process(
        self,
        uow: UnitOfWork,
        deliveries: Sequence[StoredDelivery],
        now: datetime,
        payloads: Mapping[tuple[str, str], Any] | None = None,
        done: Mapping[int, Outcome_] | None = None,
    ) -> BatchReport:
        """Process a batch inside the caller's unit of work (the caller commits).

        ``payloads`` are bodies intake already parsed, by (shop, webhook id), so they are not parsed twice;
        ``done`` are deliveries normalised already (``normalised``, in another process), by stored id.
        """
        return self.apply(uow, self.prepare(deliveries, payloads, done), now)

    def prepare(
        self,
        deliveries: Sequence[StoredDelivery],
        payloads: Mapping[tuple[str, str], Any] | None = None,
        done: Mapping[int, Outcome_] | None = None,
    ) -> list[Prepared]:
        """Parse and normalise: the CPU work, which needs no transaction (nor SQLite's write lock)."""
        payloads, done = payloads or {}, done or {}
        return [
            (stored, done[stored.id] if stored.id in done else self._normalise_one(stored, payloads))
            for stored in deliveries
        ]

    def apply(self, uow: UnitOfWork, prepared: Sequence[Prepared], now: datetime) -> BatchReport:
        """Decide and write a prepared batch inside the caller's unit of work."""
        report = BatchReport(deliveries=len(prepared))
        batch = Batch()
        parsed = self._sort_out(prepared, batch, report)
        keyed = [pair for _, found in parsed for pair in found]
        keys = {(e.shop, e.order_id) for e, _ in keyed if e.order_id is not None}
        batch.states = uow.orders.get_many(keys)
        batch.seen = uow.decisions.seen(self._ids(keyed, batch))
        ledger = UsageLedger(uow.usage)
        for stored, found in parsed:
            waiting_for = self._missing_order(stored, found, batch, now)
            if waiting_for is not None:
                batch.done.setdefault(f"waiting:order:{waiting_for}", []).append(stored.id)
                report.waiting += 1
                continue
            batch.done.setdefault("processed", []).append(stored.id)
            report.events += len(found)
            for event, key in found:
                decided = len(batch.decisions)
                self._handle(stored.id, event, key, batch, ledger, report, now)
                if len(batch.decisions) > decided:  # a duplicate of a fact decided before is not news
                    batch.fresh.append(event)
        self._flush(uow, batch, ledger, now)
        for watch in self.watchers:
            watch(uow, batch.fresh, batch.states, now)
        report.requeued = batch.requeued
        return report

    def _normalise_one(self, stored: StoredDelivery, payloads: Mapping[tuple[str, str], Any]) -> Outcome_:
        d = stored.delivery
        return normalised(d, d.payload if d.payload is not None else payloads.get((d.shop, d.webhook_id)))

    def _sort_out(
        self, prepared: Sequence[Prepared], batch: Batch, report: BatchReport
    ) -> list[tuple[StoredDelivery, list[Keyed]]]:
        parsed: list[tuple[StoredDelivery, list[Keyed]]] = []
        for stored, outcome in prepared:
            if isinstance(outcome, tuple):
                parsed.append((stored, [(event, event.key) for event in outcome]))
                continue
            status = "ignored" if isinstance(outcome, Ignored) else outcome
            batch.done.setdefault(status, []).append(stored.id)
            if status == "held":
                report.held += 1
            elif status == "ignored":
                report.ignored += 1
            else:
                report.failed += 1
        return parsed

    def _missing_order(
        self, stored: StoredDelivery, events: Sequence[Keyed], batch: Batch, now: datetime
    ) -> int | None:
        """The order a delivery must wait for: a rule will decide on it and the order is not known yet.

        Shopify may deliver a return before the order it belongs to; deciding then would decide on
        nothing. The delivery waits until the order arrives, or for ``wait_for_order`` at most; never for
        the order it brings itself (the refunds an order's payload lists come after it).
        """
        if now - stored.delivery.received_at >= self.wait_for_order:
            return None
        brought = {(e.shop, e.order_id) for e, _ in events if isinstance(e, OrderChanged)}
        for event, _ in events:
            if event.order_id is None or isinstance(event, OrderChanged) or (event.shop, event.order_id) in brought:
                continue
            if not self._listening(event.name):
                continue
            state = batch.states.get((event.shop, event.order_id))
            if state is None or state.snapshot is None:
                return event.order_id
        return None

    def _ids(self, events: Sequence[Keyed], batch: Batch) -> list[str]:
        """The ids of the decisions the events may take, kept in the batch for ``_handle``."""
        for e, key in events:
            for name in [p.name for p in self._listening(e.name)] or ["-"]:
                batch.ids[(e.shop, key, name)] = decision_id(e.shop, key, name)
        return list(batch.ids.values())

    def _listening(self, event_name: str) -> tuple[Playbook, ...]:
        """The playbooks listening to an event, in order; worked out once per event name (playbooks are fixed)."""
        found = self._listeners.get(event_name)
        if found is None:
            found = self._listeners[event_name] = tuple(p for p in self.playbooks if p.listens_to(event_name))
        return found

    def _state(self, event: StoreEvent, batch: Batch) -> OrderState | None:
        if event.order_id is None:
            return None
        key = (event.shop, event.order_id)
        known = batch.states.get(key)
        defaults = batch.defaults.get(event.shop)
        if defaults is None:  # built from the settings once per shop and batch, not up to four times an event
            defaults = batch.defaults[event.shop] = self._defaults(event.shop)
        state = known or OrderState(shop=event.shop, order_id=event.order_id, owner=defaults.owner)
        new = promised_ship_by(state, apply(state, event).state, defaults.handling)
        first_sight = new.snapshot is not None and (known is None or known.snapshot is None)
        if first_sight and self._order_owner is not None and new.owner == defaults.owner:
            # Ownership rules (value, tags, region, channel) need the order itself: decided when it is first seen.
            facts = {"shop": event.shop, "order": order_facts(new)}
            new = replace(new, owner=self._order_owner(defaults.owner, facts))
        if new != known:
            if first_sight:
                batch.arrived.add(key)
            batch.states[key] = new
            batch.touched.add(key)
        return new

    def _handle(
        self,
        delivery_id: int,
        event: StoreEvent,
        key: str,
        batch: Batch,
        ledger: UsageLedger,
        report: BatchReport,
        now: datetime,
    ) -> None:
        state = self._state(event, batch)
        facts: CelFacts | None = None
        listening = self._listening(event.name)
        for playbook in listening:
            did = batch_decision_id(batch, event.shop, key, playbook.name)
            if did in batch.seen:
                continue
            batch.seen.add(did)
            facts = facts or CelFacts(facts_for(event, state))
            decision = decide(playbook, event.name, facts, ledger, now)  # type: ignore[arg-type]
            if decision is not None:
                record(did, delivery_id, (event, key), decision, facts, batch, ledger, report, now)
        if not listening:
            record_unheard(delivery_id, (event, key), batch, report, now)


    def _flush(self, uow: UnitOfWork, batch: Batch, ledger: UsageLedger, now: datetime) -> None:
        uow.orders.put_many([batch.states[k] for k in batch.touched])
        uow.decisions.add_many(batch.decisions)
        uow.outbox.add_many(batch.actions)
        enrich = self._enrich_case
        for case in batch.cases:  # each opened case is audited by open_case, with its owner
            open_case(uow, case if enrich is None else enrich(uow, case, now), self.case_hooks, now)
        uow.usage.put_many(ledger.changed)
        for status, ids in batch.done.items():
            name, _, error = status.partition(":")
            uow.deliveries.mark_processed(ids, name, error)
        arrived: dict[str, list[int]] = {}
        for arrived_shop, order_id in sorted(batch.arrived):
            arrived.setdefault(arrived_shop, []).append(order_id)
        for shop_of, order_ids in arrived.items():  # one statement per shop, not one per order
            batch.requeued += uow.deliveries.requeue_waiting(shop_of, order_ids)
