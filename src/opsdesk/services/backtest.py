"""Policy backtest (shadow mode): recorded decisions decided again by a candidate rule set, with no effects.

The facts each event was decided on are in its decision records (``inputs``), so the candidate decides
against exactly what the live rules saw, in the order they saw it: by decision time, then delivery.
Guardrail usage is simulated in memory for the candidate, starting one longest guardrail period before
``since`` so that caps already in use at ``since`` are counted. Memory stays bounded: decisions are
read a page at a time, usage windows that have closed are dropped, and only the first ``max_changes``
changes are kept (all are counted, and their money summed).

Only events a playbook file can listen to are replayed: the decisions of people (``desk``) and of the built-in
monitors are outside any candidate's reach and are left out of the counts, rather than reported as changed.

Events no recorded playbook listened to have no recorded facts; when a candidate playbook listens to
one, its facts are rebuilt from the stored delivery and the order *as it is now* (``approximate``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from opsdesk.domain.errors import NotFound
from opsdesk.domain.events import ShopDomain
from opsdesk.domain.policies import Decision, Outcome, Playbook, Usage, decide, longest_period, window_started
from opsdesk.domain.records import DecisionRecord
from opsdesk.normalise.shopify import normalise
from opsdesk.policy.cel import CelFacts
from opsdesk.ports import UnitOfWork
from opsdesk.services.facts import facts_for, specimens
from opsdesk.services.recorded import typed

NONE = "none"  # no decision: the playbook does not exist (or does not listen) on that side


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Change:
    decided_at: datetime
    shop: str
    order_id: int | None
    event: str
    playbook: str
    before: Verdict
    after: Verdict
    amount: Decimal | None
    currency: str
    approximate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "decided_at": self.decided_at, "shop": self.shop, "order_id": self.order_id,
            "event": self.event, "playbook": self.playbook, "approximate": self.approximate,
            "before": vars_of(self.before), "after": vars_of(self.after),
            "amount": None if self.amount is None else str(self.amount), "currency": self.currency,
        }


def vars_of(verdict: Verdict) -> dict[str, str]:
    return {"outcome": verdict.outcome, "rule": verdict.rule, "reason": verdict.reason}


def _rate(counts: Mapping[str, int]) -> float | None:
    decided = counts.get("automate", 0) + counts.get("escalate", 0)
    return None if decided == 0 else round(counts.get("automate", 0) / decided, 4)


@dataclass(slots=True)
class BacktestReport:
    since: datetime
    until: datetime | None
    events: int = 0
    approximate: int = 0
    #: Events a candidate listens to whose facts were not recorded and whose delivery retention deleted.
    unavailable: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    outcome_changed: int = 0
    changes: list[Change] = field(default_factory=list)
    #: (direction, currency) -> amount: automated before/after, newly automated, no longer automated.
    money: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        money: dict[str, dict[str, str]] = {}
        for (direction, currency), amount in sorted(self.money.items()):
            money.setdefault(direction, {})[currency] = str(amount)
        return {
            "since": self.since, "until": self.until,
            "events": self.events, "approximate_events": self.approximate,
            "unavailable_events": self.unavailable,
            "decisions": {"before": dict(self.before), "after": dict(self.after)},
            "automation_rate": {"before": _rate(self.before), "after": _rate(self.after)},
            "changed": self.changed, "outcome_changed": self.outcome_changed, "money": money,
            "changes": [c.as_dict() for c in self.changes],
        }


class SimulatedUsage(dict[str, Usage]):
    """Guardrail counters for the candidate, in memory; windows that closed are dropped as time passes."""

    def __init__(self, longest: timedelta) -> None:
        super().__init__()
        self._longest = longest

    def prune(self, now: datetime) -> None:
        horizon = now.timestamp() - self._longest.total_seconds()
        for key in [k for k in self if (started := window_started(k)) is not None and started < horizon]:
            del self[key]


def pages(uow: UnitOfWork, since: datetime, until: datetime | None, size: int) -> Iterator[DecisionRecord]:
    after: tuple[datetime, int, str] | None = None
    while True:
        page = uow.decisions.history(since, until, after, size)
        yield from page
        if len(page) < size:
            return
        last = page[-1]
        after = (last.decided_at, last.delivery_id or 0, last.id)


def events(records: Iterator[DecisionRecord]) -> Iterator[list[DecisionRecord]]:
    """The decisions of one event at a time, in the order the pipeline took them (per delivery)."""
    chunk: list[DecisionRecord] = []
    for record in records:
        if chunk and (record.decided_at, record.delivery_id) != (chunk[0].decided_at, chunk[0].delivery_id):
            yield from _by_event(chunk)
            chunk = []
        chunk.append(record)
    yield from _by_event(chunk)


def _by_event(chunk: list[DecisionRecord]) -> Iterator[list[DecisionRecord]]:
    grouped: dict[tuple[str, str], list[DecisionRecord]] = {}
    for record in chunk:
        grouped.setdefault((record.shop, record.event_key), []).append(record)
    yield from grouped.values()


class Backtest:
    """One run: the candidate playbooks, the simulated usage, and the report being filled."""

    def __init__(self, uow: UnitOfWork, candidate: Sequence[Playbook], report: BacktestReport,
                 max_changes: int) -> None:
        self.uow = uow
        self.candidate = tuple(candidate)
        self.report = report
        self.max_changes = max_changes
        self.usage = SimulatedUsage(longest_period(candidate))
        self.seen = 0
        self.specimens = specimens()

    def replay(self, group: list[DecisionRecord]) -> None:
        first = group[0]
        if first.event_name not in self.specimens:
            # No playbook file can listen to it (a person's resolution, ``case.resolved``; the built-in monitors'
            # ``monitor.*``): no candidate decides it, so comparing it would report every one as a change.
            return
        listening = [p for p in self.candidate if p.listens_to(first.event_name)]
        facts, approximate = self._facts(group, bool(listening))
        after = self._decide(listening, first, facts) if facts is not None else {}
        self.seen += 1
        if self.seen % 5000 == 0:
            self.usage.prune(first.decided_at)
        if first.decided_at < self.report.since:
            return  # warm-up: guardrail usage only
        self.report.events += 1
        self.report.approximate += approximate
        recorded = {r.playbook: r for r in group if r.playbook != "-"}
        for name in sorted({*recorded, *after}):
            self._compare(first, name, recorded.get(name), after.get(name), facts or {}, approximate)

    def _facts(self, group: list[DecisionRecord], needed: bool) -> tuple[dict[str, Any] | None, bool]:
        recorded = next((r.inputs for r in group if r.inputs), None)
        like = self.specimens.get(group[0].event_name, {})
        if recorded is not None:
            return typed(recorded, like), False
        if not needed:
            return None, False
        rebuilt = self._rebuilt(group[0])
        return rebuilt, rebuilt is not None  # approximate: decided on facts rebuilt from the delivery

    def _rebuilt(self, record: DecisionRecord) -> dict[str, Any] | None:
        if record.delivery_id is None:
            return None
        try:
            d = self.uow.deliveries.get(record.delivery_id).delivery
        except NotFound:  # deleted by retention (ADR 0025): nothing to rebuild the facts from
            self.report.unavailable += 1
            return None
        found = normalise(d.topic, ShopDomain(d.shop), orjson.loads(d.body), d.triggered_at)
        event = next((e for e in found if e.key == record.event_key), None) if isinstance(found, tuple) else None
        if event is None:
            return None
        state = self.uow.orders.find(event.shop, event.order_id) if event.order_id is not None else None
        return facts_for(event, state)

    def _decide(self, listening: list[Playbook], record: DecisionRecord,
                facts: dict[str, Any]) -> dict[str, Decision]:
        cel = CelFacts(facts)
        decided: dict[str, Decision] = {}
        for playbook in listening:
            decision = decide(playbook, record.event_name, cel, self.usage, record.decided_at)
            if decision is not None:
                decided[playbook.name] = decision
                if decision.outcome is Outcome.AUTOMATE:
                    self.usage.update(decision.usage)
        return decided

    def _compare(self, record: DecisionRecord, playbook: str, before: DecisionRecord | None,
                 after: Decision | None, facts: dict[str, Any], approximate: bool) -> None:
        old = Verdict(before.outcome, before.rule_id, before.reason) if before else Verdict(NONE, "", "")
        new = Verdict(after.outcome.value, after.rule_id, after.reason) if after else Verdict(NONE, "", "")
        event = facts.get("event", {})
        amount = event.get("amount") if isinstance(event.get("amount"), Decimal) else None
        currency = str(event.get("currency") or facts.get("order", {}).get("currency") or "")
        self._count(old, new, amount, currency)
        if (old.outcome, old.rule) == (new.outcome, new.rule):
            return
        self.report.changed += 1
        self.report.outcome_changed += old.outcome != new.outcome
        if len(self.report.changes) < self.max_changes:
            self.report.changes.append(Change(record.decided_at, record.shop, record.order_id, record.event_name,
                                              playbook, old, new, amount, currency, approximate))

    def _count(self, old: Verdict, new: Verdict, amount: Decimal | None, currency: str) -> None:
        r = self.report
        if old.outcome != NONE:
            r.before[old.outcome] += 1
        if new.outcome != NONE:
            r.after[new.outcome] += 1
        if amount is None:
            return
        was, now = old.outcome == "automate", new.outcome == "automate"
        for direction, holds in (("automated_before", was), ("automated_after", now),
                                 ("newly_automated", now and not was), ("no_longer_automated", was and not now)):
            if holds:
                r.money[(direction, currency)] = r.money.get((direction, currency), Decimal(0)) + amount


def warm_up_from(candidate: Sequence[Playbook], since: datetime) -> datetime:
    """Where reading starts: one longest guardrail period before ``since``, to count usage already made."""
    return since - longest_period(candidate)


def backtest(
    uow: UnitOfWork,
    candidate: Sequence[Playbook],
    since: datetime,
    until: datetime | None = None,
    *,
    page: int = 1000,
    max_changes: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Decide the recorded events of [since, until) again with ``candidate``; writes nothing.

    ``progress`` is told how many decision records were read, after each event.
    """
    report = BacktestReport(since, until)
    run = Backtest(uow, candidate, report, max_changes)
    for group in events(pages(uow, warm_up_from(candidate, since), until, page)):
        run.replay(group)
        if progress is not None:
            progress(len(group))
    return report
