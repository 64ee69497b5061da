"""A person's resolution of a case: recorded as a decision and turned into outbox actions like an automated one.

The decision has playbook ``desk``, the resolution as its rule, the person and what they saw as its
inputs, so "why was this refunded?" has the same kind of answer whether a rule or a person decided.
Its outcome is ``person``, not ``automate``: the automation rate counts only what rules did alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from opsdesk.domain import holds
from opsdesk.domain.cases import Case, Changed
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.events import OrderId, ShopDomain, StoreEvent
from opsdesk.domain.policies import ActionSpec, Decision, Outcome
from opsdesk.domain.records import DecisionRecord
from opsdesk.ports import UnitOfWork
from opsdesk.services.effects import actions_for
from opsdesk.services.facts import facts_for
from opsdesk.services.refund_left import order_state, refund_left, refused

DESK_PLAYBOOK = "desk"
PERSON_OUTCOME = "person"
DENY_MESSAGE = "We have looked into your request carefully and are unable to approve it."


@dataclass(frozen=True, slots=True)
class CaseResolved(StoreEvent):
    """A person resolved a case: the event a desk decision answers."""

    name: ClassVar[str] = "case.resolved"
    case_id: str
    order: OrderId | None

    @property
    def order_id(self) -> OrderId | None:
        return self.order

    @property
    def key(self) -> str:
        return f"{self.name}:{self.case_id}:{self.occurred_at.isoformat()}"


def record_resolution(
    uow: UnitOfWork, before: Case, changed: Changed, actor: str, now: datetime, params: Mapping[str, Any]
) -> Changed:
    """Record the decision behind a resolution and its outbox actions; the case keeps the decision's id."""
    resolution = changed.case.resolution or ""
    order = OrderId(before.order_id) if before.order_id is not None else None
    event = CaseResolved(ShopDomain(before.shop), now, before.id, order)
    note = str(params.get("note") or "")
    facts = _facts(uow, before, event, params)
    specs = _specs(resolution, before, facts, actor, note)
    if resolution == "approve_refund" and (why := approval_refused(uow, before, facts["event"].get("amount"))):
        raise InvalidInput(why)  # checked now, not by the outbox's last look after it was queued (ADR 0052)
    did = _decision_id(before)
    reason = f"{actor} resolved case {before.key} as {resolution}" + (f": {note}" if note else "")
    # ``automate`` here only tells the effects machinery to carry the actions out; the record says ``person``.
    decision = Decision(DESK_PLAYBOOK, DESK_PLAYBOOK, resolution, Outcome.AUTOMATE, reason, specs)
    inputs = {**facts, "actor": actor, "note": note}
    uow.decisions.add_many([_record(did, before, event, resolution, reason, inputs, now)])
    uow.outbox.add_many(actions_for(did, decision, event, facts, now))
    due = before.due_at
    summary = {"id": did, "due_at": due.isoformat() if due else None, "in_time": due is None or now <= due}
    return Changed(replace(changed.case, detail={**changed.case.detail, "decision": summary}), changed.change)


def approval_refused(uow: UnitOfWork, case: Case, amount: Decimal | None) -> str:
    """Why approving a refund of ``amount`` on ``case`` is refused now ("" when it is not): nothing is left of its
    request to refund, or less than ``amount``."""
    left = refund_left(order_state(uow, case), case, _source_event(uow, case))
    return refused(left, amount)


def _decision_id(case: Case) -> str:
    return hashlib.blake2b(f"desk|{case.id}|{case.version}".encode(), digest_size=16).hexdigest()


def _record(
    did: str,
    case: Case,
    event: CaseResolved,
    resolution: str,
    reason: str,
    inputs: dict[str, Any],
    now: datetime,
) -> DecisionRecord:
    return DecisionRecord(
        id=did,
        shop=case.shop,
        delivery_id=None,
        order_id=case.order_id,
        event_name=event.name,
        event_key=event.key,
        playbook=DESK_PLAYBOOK,
        rule_id=resolution,
        policy_version=DESK_PLAYBOOK,
        outcome=PERSON_OUTCOME,
        reason=reason,
        inputs=inputs,
        decided_at=now,
    )


def _facts(uow: UnitOfWork, case: Case, event: CaseResolved, params: Mapping[str, Any]) -> dict[str, Any]:
    """What the person saw: the order now, the event that opened the case, and the case itself."""
    state = uow.orders.find(event.shop, event.order) if event.order is not None else None
    facts = facts_for(event, state)
    source = _source_event(uow, case)
    amount = params.get("amount") or case.detail.get("amount") or source.get("amount")
    facts["event"] = {**source, **facts["event"], "amount": _amount(amount)}
    if params.get("discount_id"):
        facts["event"]["discount_id"] = str(params["discount_id"])
    elif case.detail.get("code") and not facts["event"].get("discount_id"):
        facts["event"]["code"] = str(case.detail["code"])  # known only by the code orders redeemed it with
    if case.detail.get("discount_name"):  # how the discount guard knew it: names a failed pause's case
        facts["event"]["discount_name"] = str(case.detail["discount_name"])
    facts["case"] = {
        "id": case.id,
        "kind": case.kind,
        "queue": case.queue,
        "reason": case.reason,
        "opened_at": case.opened_at,
        "source": case.source,
    }
    return facts


def _source_event(uow: UnitOfWork, case: Case) -> dict[str, Any]:
    """The event facts of the automated decision that opened the case, when it came from one."""
    kind, _, source_id = case.source.partition(":")
    if kind != "decision" or case.order_id is None:
        return {}
    found = (d for d in uow.decisions.for_order(case.shop, case.order_id) if d.id == source_id)
    decision = next(found, None)
    event = decision.inputs.get("event") if decision else None
    return dict(event) if isinstance(event, dict) else {}


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"amount is not a number: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"amount must be positive, got {value!r}")
    return amount


def _specs(
    resolution: str, case: Case, facts: Mapping[str, Any], actor: str, note: str
) -> tuple[ActionSpec, ...]:
    """The actions a resolution takes, checked for what they need before anything is written."""
    if resolution == "no_action":
        return ()
    if resolution == "pause_discount":
        if not facts["event"].get("discount_id") and not facts["event"].get("code"):
            raise InvalidInput("pause_discount needs discount_id (neither it nor a code is known for this case)")
        return (ActionSpec("deactivate_discount"),)
    if case.order_id is None:
        raise InvalidInput(f"{resolution} needs a case linked to an order")
    match resolution:
        case "approve_refund":
            if facts["event"].get("amount") is None:
                raise InvalidInput("approve_refund needs an amount (none is known for this case)")
            return (
                ActionSpec("refund", {"notify": True}),
                ActionSpec("email", {"template": "refund_confirmation"}),
            )
        case "release_hold":
            # Only the holds the case is about: never another matter's (an address case leaves a fraud hold)
            # nor one placed by hand in Shopify, which is released there.
            wanted = holds.case_holds(case.kind)
            if not wanted:
                raise InvalidInput(f"release_hold: a {case.kind} case is about no hold opsdesk places; "
                                   "release the order's holds in Shopify")
            return (ActionSpec("release_hold", {"holds": [p.value for p in wanted]}),)
        case "reship":
            text = f"reship approved by {actor}" + (f": {note}" if note else "")
            return (ActionSpec("add_tags", {"tags": ["reship"]}), ActionSpec("note", {"note": text}))
        case "deny":
            return (ActionSpec("email", {"template": "generic", "message": note or DENY_MESSAGE}),)
    raise InvalidInput(f"unknown resolution {resolution!r}")
