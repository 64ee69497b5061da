"""The pipeline: stored deliveries -> domain events -> order state and decisions -> outbox and cases.

One batch is one transaction. Decision ids are derived from (shop, event key, playbook), so a fact
delivered twice, or replayed after a crash, is decided once; action ids derive from decision ids.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import orjson

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import OrderChanged, OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState, apply, promised_ship_by
from opsdesk.domain.policies import Decision, Outcome, Playbook, Usage, decide
from opsdesk.domain.records import CaseRecord, DecisionRecord, OutboxAction, RawDelivery, StoredDelivery
from opsdesk.normalise.shopify import Ignored, normalise
from opsdesk.policy.cel import CelFacts
from opsdesk.ports import UnitOfWork, UsageRepository
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.effects import actions_for, case_for
from opsdesk.services.erasures import ErasedCustomers
from opsdesk.services.facts import facts_for, order_facts
from opsdesk.services.refusals import REFUSALS, apply_each

log = logging.getLogger(__name__)

OrderKey = tuple[ShopDomain, OrderId]
#: A delivery's normalised events, ``Ignored``, "held", or "failed:<reason>".
Outcome_ = tuple[StoreEvent, ...] | Ignored | str
Prepared = tuple[StoredDelivery, Outcome_]
#: An event with its key, formatted once per batch: decision ids and decision records all read it.
Keyed = tuple[StoreEvent, str]
#: Called once per batch, in its transaction, with the events decided for the first time and the orders'
#: states after them: monitors arm their timers here (``watcher(uow, events, states, now)``).
Watcher = Callable[[UnitOfWork, Sequence[StoreEvent], Mapping[OrderKey, OrderState], datetime], None]
#: Adds what a person needs to a case before it opens (a dispute's evidence), in the batch's transaction.
CaseEnricher = Callable[[UnitOfWork, CaseRecord, datetime], CaseRecord]


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
class _Batch:
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
        batch = _Batch()
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
        self, prepared: Sequence[Prepared], batch: _Batch, report: BatchReport
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
        self, stored: StoredDelivery, events: Sequence[Keyed], batch: _Batch, now: datetime
    ) -> int | None:
        """The order a delivery must wait for: a rule will decide on it and the order is not known yet.

        Shopify may deliver a return before the order it belongs to; deciding then would decide on
        nothing. The delivery waits until the order arrives, or for ``wait_for_order`` at most.
        """
        if now - stored.delivery.received_at >= self.wait_for_order:
            return None
        for event, _ in events:
            if event.order_id is None or isinstance(event, OrderChanged):
                continue
            if not self._listening(event.name):
                continue
            state = batch.states.get((event.shop, event.order_id))
            if state is None or state.snapshot is None:
                return event.order_id
        return None

    def _ids(self, events: Sequence[Keyed], batch: _Batch) -> list[str]:
        """The ids of the decisions the events may take, kept in the batch for ``_handle``."""
        for e, key in events:
            for name in [p.name for p in self._listening(e.name)] or ["-"]:
                batch.ids[(e.shop, key, name)] = decision_id(e.shop, key, name)
        return list(batch.ids.values())

    def _decision_id(self, batch: _Batch, shop: str, event_key: str, playbook: str) -> str:
        found = batch.ids.get((shop, event_key, playbook))
        return decision_id(shop, event_key, playbook) if found is None else found

    def _listening(self, event_name: str) -> tuple[Playbook, ...]:
        """The playbooks listening to an event, in order; worked out once per event name (playbooks are fixed)."""
        found = self._listeners.get(event_name)
        if found is None:
            found = self._listeners[event_name] = tuple(p for p in self.playbooks if p.listens_to(event_name))
        return found

    def _state(self, event: StoreEvent, batch: _Batch) -> OrderState | None:
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
        batch: _Batch,
        ledger: UsageLedger,
        report: BatchReport,
        now: datetime,
    ) -> None:
        state = self._state(event, batch)
        facts: CelFacts | None = None
        listening = self._listening(event.name)
        for playbook in listening:
            did = self._decision_id(batch, event.shop, key, playbook.name)
            if did in batch.seen:
                continue
            batch.seen.add(did)
            facts = facts or CelFacts(facts_for(event, state))
            decision = decide(playbook, event.name, facts, ledger, now)  # type: ignore[arg-type]
            if decision is not None:
                self._record(did, delivery_id, (event, key), decision, facts, batch, ledger, report, now)
        if not listening:
            self._record_unheard(delivery_id, (event, key), batch, report, now)

    def _record(
        self,
        did: str,
        delivery_id: int,
        keyed: Keyed,
        decision: Decision,
        facts: dict[str, Any],
        batch: _Batch,
        ledger: UsageLedger,
        report: BatchReport,
        now: datetime,
    ) -> None:
        event, key = keyed
        batch.decisions.append(
            DecisionRecord(
                id=did,
                shop=event.shop,
                delivery_id=delivery_id,
                order_id=event.order_id,
                event_name=event.name,
                event_key=key,
                playbook=decision.playbook,
                rule_id=decision.rule_id,
                policy_version=decision.version,
                outcome=decision.outcome.value,
                reason=decision.reason,
                inputs=dict(facts),
                decided_at=now,
            )
        )
        report.decisions += 1
        if decision.outcome is Outcome.AUTOMATE:
            report.automated += 1
            ledger.consume(dict(decision.usage))
            actions = actions_for(did, decision, event, facts, now)
            batch.actions += actions
            report.actions += len(actions)
            if decision.case is not None:  # the rule acts and a person reviews (e.g. a hold)
                batch.cases.append(case_for(did, decision, event, decision.case, now, order_name=_name(facts)))
                report.cases += 1
        elif decision.outcome is Outcome.ESCALATE and decision.escalation is not None:
            report.escalated += 1
            batch.cases.append(case_for(did, decision, event, decision.escalation, now, order_name=_name(facts)))
            report.cases += 1

    def _record_unheard(
        self, delivery_id: int, keyed: Keyed, batch: _Batch, report: BatchReport, now: datetime
    ) -> None:
        event, key = keyed
        did = self._decision_id(batch, event.shop, key, "-")
        if did in batch.seen:
            return
        batch.seen.add(did)
        batch.decisions.append(
            DecisionRecord(
                id=did,
                shop=event.shop,
                delivery_id=delivery_id,
                order_id=event.order_id,
                event_name=event.name,
                event_key=key,
                playbook="-",
                rule_id="none",
                policy_version="-",
                outcome=Outcome.IGNORE.value,
                reason="no playbook listens to this event",
                inputs={},
                decided_at=now,
            )
        )
        report.decisions += 1

    def _flush(self, uow: UnitOfWork, batch: _Batch, ledger: UsageLedger, now: datetime) -> None:
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


def normalised(d: RawDelivery, payload: Any = None) -> Outcome_:
    """A delivery's events, ``Ignored``, "held" (an unknown shop's) or "failed:<why>"; ``payload`` is its
    body already parsed, if it was. Never raises: one unreadable delivery must never block the rest."""
    if not d.known_shop:
        return "held"
    try:
        if payload is None:
            payload = orjson.loads(d.body)
        return normalise(d.topic, ShopDomain(d.shop), payload, d.triggered_at)
    except (InvalidPayload, orjson.JSONDecodeError) as exc:
        return f"failed:{exc}"
    except Exception as exc:
        return f"failed:internal error {type(exc).__name__}: {exc}"


def process_pending(
    uow_factory: Callable[..., UnitOfWork],
    pipeline: Pipeline,
    now: Callable[[], datetime],
    batch_size: int = 500,
    erased: ErasedCustomers | None = None,
) -> BatchReport:
    """Drain the pending deliveries, one write transaction per batch; returns what was done.

    Each batch is normalised outside any transaction, so that SQLite's write lock is held only for
    reading rows, deciding and writing, not for parsing: webhook intake commits in between. The first
    batch is read in a read-only transaction (with the waiting check); each next one, the deliveries the
    batch requeued or the watchers appended included, at the end of the write transaction before it, a
    transaction fewer per batch. With ``erased``, a batch read before a customer's erasure committed is
    read again (the erasure rewrote its bodies) instead of deciding on the copy parsed before (ADR 0021).
    A batch the database refuses for its data is applied again one delivery at a time, and the refused
    delivery is marked failed (ADR 0030); an outage (``Unavailable``) is raised, for the caller to wait out.
    """
    total = BatchReport()
    cutoff = now() - pipeline.wait_for_order
    with uow_factory(read_only=True) as uow:  # the first batch is read with the waiting check
        seen = _erasures(erased, uow, hold=False)  # before the bodies: a later erasure changes it
        oldest = uow.deliveries.oldest_waiting()
        release = oldest is not None and oldest < cutoff
        pending = [] if release else uow.deliveries.pending(batch_size)
    if release:  # a write transaction only when a delivery waited long enough
        with uow_factory() as uow:
            seen = _erasures(erased, uow, hold=True)
            uow.deliveries.release_waiting(cutoff)
            pending = uow.deliveries.pending(batch_size)
            uow.commit()
    while pending:
        prepared = pipeline.prepare(pending)
        try:
            with uow_factory() as uow:
                if (version := _erasures(erased, uow, hold=True)) != seen:  # read again, from the same place
                    seen, pending = version, uow.deliveries.pending(batch_size, after_id=pending[0].id - 1)
                    continue
                # Only what is still pending and not being processed elsewhere (locked rows are skipped).
                still = uow.deliveries.claim_pending([stored.id for stored in pending])
                report = pipeline.apply(uow, [p for p in prepared if p[0].id in still], now())
                # Deliveries that waited for an order that just arrived were requeued: start over.
                after = 0 if report.requeued else pending[-1].id
                pending = uow.deliveries.pending(batch_size, after_id=after)
                uow.commit()
        except REFUSALS as exc:  # one delivery's data, not an outage: the batch again, one by one
            log.warning("a batch of %d deliveries was refused (%s); applying them one by one", len(pending), exc)
            pending = _one_by_one(uow_factory, pipeline, prepared, now, batch_size, erased, seen, total)
            continue
        total.add(report)
    return total


def _one_by_one(
    uow_factory: Callable[..., UnitOfWork],
    pipeline: Pipeline,
    prepared: Sequence[Prepared],
    now: Callable[[], datetime],
    batch_size: int,
    erased: ErasedCustomers | None,
    seen: int,
    total: BatchReport,
) -> list[StoredDelivery]:
    """Apply a refused batch one delivery per transaction (adding to ``total``); the deliveries to do next."""
    by_id = {p[0].id: p for p in prepared}
    requeued = total.requeued
    stale = apply_each(
        uow_factory,
        lambda uow, delivery_id: pipeline.apply(uow, [by_id[delivery_id]], now()),
        list(by_id),
        lambda uow: _erasures(erased, uow, hold=True) == seen,
        total,
    )
    after = 0 if total.requeued > requeued else prepared[-1][0].id
    with uow_factory(read_only=True) as uow:  # a stale read is read again from where it stopped
        return uow.deliveries.pending(batch_size, after_id=after if stale is None else stale - 1)


def _erasures(erased: ErasedCustomers | None, uow: UnitOfWork, *, hold: bool) -> int:
    """The erasures' version; with ``hold``, none begins until ``uow`` ends (the batch decides on what it read)."""
    return 0 if erased is None else erased.current(uow, hold=hold).version


def _name(facts: Mapping[str, Any]) -> str:
    """The order's name (``#1205``) as the facts have it: from the stored order, or the event's own payload."""
    return str(facts["order"].get("name") or "")
