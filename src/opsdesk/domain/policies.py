"""Rules decide what happens to an event: automate inside guardrails, escalate to a person, or ignore.

A playbook is an ordered list of rules plus a default. ``decide`` walks the rules that listen to the
event, takes the first whose condition holds, and checks its guardrails against the usage so far:
a rule may act only inside explicit limits, and outside them the same event is escalated.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, assert_never

from opsdesk.domain.ids import USAGE_KEY_LENGTH, fit_id
from opsdesk.domain.policy_names import FALLBACK_RULE, SUPERSEDED_RULE

Facts = Mapping[str, Any]
Condition = Callable[[Facts], bool]

class Outcome(enum.Enum):
    AUTOMATE = "automate"
    ESCALATE = "escalate"
    IGNORE = "ignore"


class Scope(enum.Enum):
    ACTION = "action"
    CUSTOMER = "customer"
    SHOP = "shop"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What to do, e.g. ``refund`` or ``email`` with its static parameters."""

    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Escalation:
    queue: str
    priority: str = "normal"
    sla: str = ""


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A limit on what a rule may do by itself: per action, or per customer or shop per period."""

    scope: Scope
    period: timedelta | None = None
    max_count: int | None = None
    max_amount: Decimal | None = None

    def window(self, now: datetime) -> str:
        """The fixed window ``now`` falls in (windows are aligned to the Unix epoch, in UTC)."""
        if self.period is None:
            return "-"
        seconds = int(self.period.total_seconds())
        return str(int(now.timestamp()) // seconds * seconds)

    def usage_key(self, rule_id: str, subject: str, now: datetime) -> str:
        """``<rule>|<scope>|<subject>|<window>``, the key of the counter ``now`` falls in.

        A key longer than its column (a 128-character rule id, a 320-character email) is fitted: the rule
        and subject become what ``fit_id`` makes of the whole key (the rule's beginning and a digest), and
        the scope and window stay where ``window_started`` reads them. A key that fits is kept as it was,
        so stored counters go on counting."""
        scope, window = self.scope.value, self.window(now)
        key = f"{rule_id}|{scope}|{subject}|{window}"
        if len(key) <= USAGE_KEY_LENGTH:
            return key
        room = USAGE_KEY_LENGTH - len(f"|{scope}|{window}")
        rule, digest = fit_id(key, sep="|", length=room).rsplit("|", 1)
        return f"{rule}|{scope}|{digest}|{window}"


@dataclass(frozen=True, slots=True)
class Usage:
    count: int = 0
    amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: frozenset[str]
    condition: Condition | None
    condition_source: str
    actions: tuple[ActionSpec, ...] = ()
    escalation: Escalation | None = None
    guardrails: tuple[Guardrail, ...] = ()
    #: A case a person must also work while the rule acts (a hold is placed and someone reviews it).
    case: Escalation | None = None

    @property
    def outcome(self) -> Outcome:
        if self.actions:
            return Outcome.AUTOMATE
        return Outcome.ESCALATE if self.escalation else Outcome.IGNORE


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    owner: str
    version: str
    rules: tuple[Rule, ...]
    default: Outcome = Outcome.IGNORE
    default_escalation: Escalation | None = None
    listens: frozenset[str] = frozenset()
    #: What the playbook decides when no rule matches: the same for every event, so made once, here.
    fallback: Decision = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback", _default(self))

    def listens_to(self, event_name: str) -> bool:
        return event_name in self.listens


@dataclass(frozen=True, slots=True)
class Decision:
    """What a playbook decided for an event, with everything needed to explain it later."""

    playbook: str
    version: str
    rule_id: str
    outcome: Outcome
    reason: str
    actions: tuple[ActionSpec, ...] = ()
    escalation: Escalation | None = None
    usage: Mapping[str, Usage] = field(default_factory=dict)
    #: Who answers for the playbook: its failed actions and missed deadlines go to them.
    owner: str = ""
    #: For an automated decision: the case opened alongside its actions (the rule's ``case``).
    case: Escalation | None = None


def longest_period(playbooks: Sequence[Playbook]) -> timedelta:
    """The longest guardrail period of these playbooks (zero when none has one)."""
    periods = [g.period for p in playbooks for r in p.rules for g in r.guardrails if g.period]
    return max(periods, default=timedelta(0))


def window_started(key: str) -> int | None:
    """When the window a guardrail counter's key names began, in Unix seconds (the inverse of ``usage_key``);
    None for a counter without a period, and for a key that is not a guardrail counter's."""
    parts = key.split("|")
    counted = len(parts) >= 4 and parts[1] in (Scope.CUSTOMER.value, Scope.SHOP.value)
    return int(parts[-1]) if counted and parts[-1].isascii() and parts[-1].isdigit() else None


def guardrail_keys(rule: Rule, facts: Facts, now: datetime) -> dict[Guardrail, str]:
    """The usage counters a rule's guardrails read, keyed by guardrail."""
    return {g: g.usage_key(rule.id, _subject(g.scope, facts), now) for g in rule.guardrails}


def decide(
    playbook: Playbook, event_name: str, facts: Facts, usage: Mapping[str, Usage], now: datetime
) -> Decision | None:
    """Decide one event with one playbook; ``None`` when the playbook does not listen to it.

    An event whose facts say it is superseded (``event.superseded``: why) is decided by no rule: it is recorded
    as ignored, with that reason, by every playbook listening to it."""
    if not playbook.listens_to(event_name):
        return None
    late = _superseded(facts)
    if late:
        return Decision(playbook.name, playbook.version, SUPERSEDED_RULE, Outcome.IGNORE, late, owner=playbook.owner)
    for rule in playbook.rules:
        if event_name in rule.when and (rule.condition is None or rule.condition(facts)):
            return _decide_rule(playbook, rule, facts, usage, now)
    return playbook.fallback


def _decide_rule(
    playbook: Playbook, rule: Rule, facts: Facts, usage: Mapping[str, Usage], now: datetime
) -> Decision:
    outcome = rule.outcome
    amount = _amount(facts)
    consumed: dict[str, Usage] = {}
    if outcome is Outcome.AUTOMATE:
        for guardrail, key in guardrail_keys(rule, facts, now).items():
            per_action = guardrail.scope is Scope.ACTION  # a cap on each action alone: nothing accumulates
            before = Usage() if per_action else usage.get(key, Usage())
            breach = _breach(guardrail, before, amount)
            if breach:
                return Decision(
                    playbook.name,
                    playbook.version,
                    rule.id,
                    Outcome.ESCALATE,
                    f"guardrail: {breach}",
                    escalation=rule.escalation or playbook.default_escalation,
                    owner=playbook.owner,
                )
            if not per_action:
                consumed[key] = Usage(before.count + 1, before.amount + amount)
    return Decision(
        playbook.name,
        playbook.version,
        rule.id,
        outcome,
        _reason(rule),
        actions=rule.actions,
        escalation=rule.escalation,
        usage=consumed,
        owner=playbook.owner,
        case=rule.case if outcome is Outcome.AUTOMATE else None,
    )


def _default(playbook: Playbook) -> Decision:
    outcome = playbook.default
    escalation = playbook.default_escalation if outcome is Outcome.ESCALATE else None
    return Decision(
        playbook.name,
        playbook.version,
        FALLBACK_RULE,
        outcome,
        "no rule matched",
        escalation=escalation,
        owner=playbook.owner,
    )


def _breach(guardrail: Guardrail, before: Usage, amount: Decimal) -> str:
    per = (
        guardrail.scope.value
        if guardrail.period is None
        else f"{guardrail.scope.value} per {guardrail.period}"
    )
    if guardrail.max_amount is not None and before.amount + amount > guardrail.max_amount:
        return f"amount {before.amount + amount} would exceed {guardrail.max_amount} ({per})"
    if guardrail.max_count is not None and before.count + 1 > guardrail.max_count:
        return f"count {before.count + 1} would exceed {guardrail.max_count} ({per})"
    return ""


def _reason(rule: Rule) -> str:
    outcome = rule.outcome
    match outcome:
        case Outcome.AUTOMATE:
            return f"rule {rule.id} matched: {rule.condition_source or 'always'}"
        case Outcome.ESCALATE:
            return f"rule {rule.id} escalates: {rule.condition_source or 'always'}"
        case Outcome.IGNORE:
            return f"rule {rule.id} ignores: {rule.condition_source or 'always'}"
        case _:
            assert_never(outcome)


def _superseded(facts: Facts) -> str:
    value = facts.get("event", {}).get("superseded")
    return value if isinstance(value, str) else ""


def _amount(facts: Facts) -> Decimal:
    value = facts.get("event", {}).get("amount")
    return value if isinstance(value, Decimal) else Decimal(0)


def _subject(scope: Scope, facts: Facts) -> str:
    match scope:
        case Scope.ACTION:
            return "-"
        case Scope.CUSTOMER:
            customer = facts.get("customer", {})
            return str(customer.get("id") or customer.get("email") or "anonymous")
        case Scope.SHOP:
            return str(facts.get("shop", ""))
        case _:
            assert_never(scope)
