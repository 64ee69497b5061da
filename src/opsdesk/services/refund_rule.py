"""The deciding rule's second look at a refund before its send (ADR 0041, amended in session 14): its condition asked
again on the order as it is now.

A rule decides a refund on the order's facts then; the merchant may tag the order ``no-auto-refund``, or anything
else the rule's condition excludes may change, before the outbox sends it. So, for a refund a rule decided, the rule
as the desk has it loaded now (found by its playbook's name and its id) is asked again with the event's, the
customer's and the shop's facts as the decision recorded them and the order's facts as they are now. When it no
longer holds, the refund is not sent: the guard refuses it with the rule's name and what changed, and a person
decides (the action fails into its case, like the guard's other refusals).

Not asked again:
- a person's approval (the desk's own playbooks: ``desk``, the monitors): a person's decision stays theirs;
- a rule no longer loaded (its playbook removed or renamed, the rule's id changed) or without a condition: only the
  guard's other checks stand, as before;
- what the decision's own actions change on the order before the refund goes (``OWN_FACTS``; the tags its
  ``add_tags`` adds): their doing, not news. Money refunded since is the guard's other checks' to judge.
A rule edited since is asked as it is now: the merchant's word now is what a refund still unsent goes by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opsdesk.domain.orders import OrderState
from opsdesk.domain.policies import Playbook, Rule
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
    """Why the rule that decided this refund would not decide it now, on the order's ``state`` now ("" when it would,
    or is not asked)."""
    if decision is None or decision.playbook in DESK_PLAYBOOKS or action.order_id is None:
        return ""
    found = _deciding_rule(playbooks, decision)
    if found is None:
        return ""
    playbook, rule = found
    recorded = recorded_facts(decision.event_name, decision.inputs)
    then = recorded.get("order")
    if not isinstance(then, dict):
        return ""
    own = [action, *(a for a in uow.outbox.for_order(action.shop, action.order_id)
                     if a.decision_id == decision.id and a.id != action.id)]
    now = _order_now(order_facts(state), then, own)
    if rule.condition is None or rule.condition(CelFacts({**recorded, "order": now})):
        return ""
    return (f"the rule {rule.id}'s condition (playbook {playbook.name}) no longer holds: "
            f"{_what_changed(rule, then, now, decision, playbook)}")


def _deciding_rule(playbooks: Sequence[Playbook], decision: DecisionRecord) -> tuple[Playbook, Rule] | None:
    """The rule that took the decision as the desk has it loaded now, with its playbook; None when there is none."""
    for playbook in playbooks:
        if playbook.name == decision.playbook:
            rule = next((r for r in playbook.rules if r.id == decision.rule_id), None)
            return (playbook, rule) if rule is not None else None
    return None


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


def _what_changed(
    rule: Rule, then: Mapping[str, Any], now: Mapping[str, Any], decision: DecisionRecord, playbook: Playbook
) -> str:
    """The order facts the condition reads that changed since the decision; else that the rule did."""
    paths = referenced_paths(rule.condition_source)
    names = sorted({path[1] for path in paths if path[0] == "order" and len(path) > 1})
    changes = [_change(name, then.get(name), now.get(name)) for name in names if then.get(name) != now.get(name)]
    if changes:
        return f"{'; '.join(changes)} since this refund was decided"
    if decision.policy_version != playbook.version:
        return (f"the rule was changed since this refund was decided (playbook version {decision.policy_version} "
                f"then, {playbook.version} now), and it does not hold on the facts it was decided on")
    return "it does not hold on the facts this refund was decided on either"


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
