"""The deciding playbook's second look at a refund before its send (ADR 0041, amended in sessions 14 and 15): its
rules asked again, in order, on the order as it is now.

A rule decides a refund on the order's facts then; the merchant may tag the order ``no-auto-refund`` (which the
rule's condition excludes), or ``vip`` (which an earlier rule sends to a person), or edit the playbook, before the
outbox sends it. So, for a refund a rule decided, its playbook as the desk has it loaded now (the rule found by the
playbook's name and its id) decides the event again, by the policy engine's own ``decide``, on the event's, the
customer's and the shop's facts as the decision recorded them and the order's facts as they are now. When another
rule would take the event (an earlier one whose condition holds now, or a later one as the deciding rule's ``when``
or condition no longer does), the rule's guardrails would not let it act, or it no longer refunds, the refund is not
sent: the guard refuses it naming the rule and what changed, and a person decides (the action fails into its case,
like the guard's other refusals).

Guardrails are asked with nothing counted (``decide``'s usage empty): each judges this refund alone, so a cap lowered
since below its amount (per action, or per customer or shop) or a ``max_count: 0`` refuses it, and a guardrail never
refuses it for itself. What other decisions counted is not asked again: a counter is one sum per window, holding the
decisions after this one too (they counted it before them) and none of a guardrail added or re-periodised since, so
what was counted before this decision cannot be told from it.

Not asked again:
- a person's approval (the desk's own playbooks: ``desk``, the monitors): a person's decision stays theirs;
- a rule no longer loaded (its playbook removed or renamed, the rule's id changed): only the guard's other checks
  stand, as before;
- what the decision's own actions change on the order before the refund goes (``OWN_FACTS``; the tags its
  ``add_tags`` adds): their doing, not news, for every rule asked. Money refunded since is the guard's other checks'.
A playbook edited since is asked as it is now: the merchant's word now is what a refund still unsent goes by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Decision, Outcome, Playbook, Rule, decide
from opsdesk.domain.policy_names import DESK_PLAYBOOKS
from opsdesk.domain.records import DecisionRecord, OutboxAction
from opsdesk.policy.cel import CelFacts, referenced_paths
from opsdesk.ports import UnitOfWork
from opsdesk.services.facts import order_facts
from opsdesk.services.recorded import recorded_facts

#: The order facts an action of a kind of the refund's own decision may change before the refund is sent, judged as
#: the decision recorded them: the refund itself (after an attempt that reached Shopify, its money and the payment
#: status it leaves), a return it approves, a hold it places or releases.
OWN_FACTS: Mapping[str, tuple[str, ...]] = {
    "refund": ("refunded", "payment_status"),
    "approve_return": ("open_returns",),
    "hold_fulfillment": ("fulfilment_status",),
    "release_hold": ("fulfilment_status",),
}


def rule_refused(
    uow: UnitOfWork, action: OutboxAction, state: OrderState, decision: DecisionRecord | None,
    playbooks: Sequence[Playbook],
) -> str:
    """Why the playbook that decided this refund would not decide it now, on the order's ``state`` now ("" when it
    would, or is not asked)."""
    if decision is None or decision.playbook in DESK_PLAYBOOKS or action.order_id is None:
        return ""
    found = _deciding_rule(playbooks, decision)
    if found is None:
        return ""
    recorded = recorded_facts(decision.event_name, decision.inputs)
    then = recorded.get("order")
    if not isinstance(then, dict):
        return ""
    own = [action, *(a for a in uow.outbox.for_order(action.shop, action.order_id)
                     if a.decision_id == decision.id and a.id != action.id)]
    now = _order_now(order_facts(state), then, own)
    # The engine's own decide; nothing counted: each guardrail judges this refund alone (see above).
    again = decide(found[0], decision.event_name, CelFacts({**recorded, "order": now}), {}, decision.decided_at)
    return _Asked(*found, decision, then, now).why(again)


def _deciding_rule(playbooks: Sequence[Playbook], decision: DecisionRecord) -> tuple[Playbook, Rule] | None:
    """The rule that took the decision as the desk has it loaded now, with its playbook; None when there is none."""
    for playbook in playbooks:
        if playbook.name == decision.playbook:
            rule = next((r for r in playbook.rules if r.id == decision.rule_id), None)
            return (playbook, rule) if rule is not None else None
    return None


@dataclass(frozen=True, slots=True)
class _Asked:
    """The deciding rule asked again among its playbook's: the order's facts ``then`` (recorded) and ``now``."""

    playbook: Playbook
    rule: Rule
    decision: DecisionRecord
    then: Mapping[str, Any]
    now: Mapping[str, Any]

    def why(self, again: Decision | None) -> str:
        """Why ``again`` (the playbook's decision now; None when it no longer listens) is not this refund's."""
        rule, named = self.rule, f"the rule {self.rule.id} (playbook {self.playbook.name})"
        if again is not None and again.rule_id == rule.id:
            if again.outcome is not rule.outcome:  # only a guardrail turns a rule's outcome into another
                return f"{named} would send it to a person now: {again.reason}"
            return "" if any(a.type == "refund" for a in rule.actions) else f"{named} no longer refunds: {_does(rule)}"
        first = self._earlier(again.rule_id if again is not None else "")
        if first is not None:
            return (f"the rule {first.id} (playbook {self.playbook.name}) would take this event before the rule "
                    f"{rule.id} now: {self._what_changed(first, holds=True)}")
        event = self.decision.event_name
        if event not in rule.when:
            return f"{named} no longer listens to {event} (its when: {', '.join(sorted(rule.when))})"
        return (f"the rule {rule.id}'s condition (playbook {self.playbook.name}) no longer holds: "
                f"{self._what_changed(rule, holds=False)}")

    def _earlier(self, rule_id: str) -> Rule | None:
        """The rule ``rule_id`` when the playbook has it before the deciding rule."""
        for rule in self.playbook.rules:
            if rule.id == self.rule.id:
                return None
            if rule.id == rule_id:
                return rule
        return None

    def _what_changed(self, rule: Rule, *, holds: bool) -> str:
        """The order facts ``rule``'s condition reads that changed since the decision; else that the rule did."""
        then, now, decision, playbook = self.then, self.now, self.decision, self.playbook
        paths = referenced_paths(rule.condition_source)
        names = sorted({path[1] for path in paths if path[0] == "order" and len(path) > 1})
        changes = [_change(name, then.get(name), now.get(name)) for name in names if then.get(name) != now.get(name)]
        if changes:
            return f"{'; '.join(changes)} since this refund was decided"
        versions = f"version {decision.policy_version} then, {playbook.version} now"
        if decision.policy_version == playbook.version:
            return f"it {'takes it' if holds else 'does not hold'} on the facts this refund was decided on" + (
                " too" if holds else " either")
        if holds:
            return f"the playbook was changed since this refund was decided ({versions}), and the rule takes it"
        return (f"the rule was changed since this refund was decided (playbook {versions}), and it does not hold on "
                "the facts it was decided on")


def _does(rule: Rule) -> str:
    """What a rule that does not refund does now."""
    outcome = rule.outcome
    match outcome:
        case Outcome.AUTOMATE:
            return f"its actions are {', '.join(a.type for a in rule.actions)} now"
        case Outcome.ESCALATE:
            return f"it escalates to {rule.escalation.queue if rule.escalation else 'a person'} now"
        case Outcome.IGNORE:
            return "it ignores the event now"
        case _:
            assert_never(outcome)


def _order_now(now: dict[str, Any], then: Mapping[str, Any], own: Sequence[OutboxAction]) -> dict[str, Any]:
    """The order's facts now, less what the decision's own actions (``own``) did to them: the facts their kinds
    change as the decision recorded them, and its tags without those its ``add_tags`` added (kept if there then)."""
    facts = dict(now)
    for action in own:
        for name in OWN_FACTS.get(action.kind, ()):
            if name in then:
                facts[name] = then[name]
    added = {str(tag) for a in own if a.kind == "add_tags" for tag in a.payload.get("tags") or ()}
    if added and isinstance(facts.get("tags"), list):
        tags = then.get("tags")
        before = tags if isinstance(tags, list) else []
        facts["tags"] = [tag for tag in facts["tags"] if tag not in added or tag in before]
    return facts


def _change(name: str, then: object, now: object) -> str:
    if isinstance(then, list) and isinstance(now, list):
        gained = [_shown(v) for v in now if v not in then]
        lost = [_shown(v) for v in then if v not in now]
        parts = ([f"gained {', '.join(gained)}"] if gained else []) + ([f"lost {', '.join(lost)}"] if lost else [])
        return f"order.{name} {' and '.join(parts)}" if parts else f"order.{name} changed"
    return f"order.{name} was {_shown(then)}, is {_shown(now)} now"


def _shown(value: object) -> str:
    """A fact as a condition spells it: ``"vip"``, ``true``, ``null``, ``12.50``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return f"[{', '.join(_shown(v) for v in value)}]"
    return str(value)
