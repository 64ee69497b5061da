"""What a decision turns into: outbox actions for automation, a case for a person."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from opsdesk.domain import holds
from opsdesk.domain.events import FulfillmentEventRecorded, InventoryLevelChanged, OrderOversold, StoreEvent
from opsdesk.domain.outbox import ActionStatus, action_id, email_premise, idempotency_key
from opsdesk.domain.policies import ActionSpec, Decision, Escalation
from opsdesk.domain.privacy import NOT_SENT, REDACTED
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.services.refund_guard import refund_lines
from opsdesk.services.titles import event_title, order_label
from opsdesk.services.tracking import email_fields

#: Which provider carries each action type.
PROVIDERS = {
    "refund": "shopify",
    "hold_fulfillment": "shopify",
    "release_hold": "shopify",
    "add_tags": "shopify",
    "deactivate_discount": "shopify",
    "note": "shopify",
    "approve_return": "shopify",
    "check_payment": "shopify",
    "email": "smtp",
}

#: The case kind that a queue's cases are, by default.
QUEUE_KINDS = {
    "refunds": "refund",
    "disputes": "dispute",
    "returns": "return",
    "pricing": "discount",
    "fulfilment": "fulfilment",
    "warehouse": "fulfilment",
    "inventory": "inventory",
    "risk": "order",
    "payments": "payment",
    "quality": "quality",
    "automation": "automation_failure",
}


def actions_for(
    decision_id: str, decision: Decision, event: StoreEvent, facts: dict[str, Any], now: datetime
) -> list[OutboxAction]:
    actions = [_action(decision_id, i, spec, event, facts, now) for i, spec in enumerate(decision.actions)]
    if decision.owner:  # the playbook's owner answers for its failures (see case_for_failed_action)
        actions = [replace(a, payload={**a.payload, "playbook_owner": decision.owner}) for a in actions]
    return actions


def _action(
    decision_id: str, index: int, spec: ActionSpec, event: StoreEvent, facts: dict[str, Any], now: datetime
) -> OutboxAction:
    aid = action_id(decision_id, index)
    payload = _payload(spec, event, facts)
    # The customer was erased (their order's email with them): the email is recorded, not sent (ADR 0021).
    erased = spec.type == "email" and payload.get("to") == REDACTED
    return OutboxAction(
        id=aid,
        decision_id=decision_id,
        shop=event.shop,
        order_id=event.order_id,
        kind=spec.type,
        provider=PROVIDERS[spec.type],
        payload=payload,
        idempotency_key=idempotency_key(aid),
        created_at=now,
        next_attempt_at=now,
        status=ActionStatus.FAILED if erased else ActionStatus.PENDING,
        last_error=NOT_SENT if erased else "",
        position=index,  # the rule's ``then:`` order: each waits for the one before (ADR 0042)
    )


def _payload(spec: ActionSpec, event: StoreEvent, facts: dict[str, Any]) -> dict[str, Any]:
    ev, order = facts["event"], facts["order"]
    base: dict[str, Any] = {"shop": event.shop, "order_id": event.order_id, **spec.params}
    match spec.type:
        case "refund":
            amount = ev.get("amount")
            base.update(
                amount=str(amount if isinstance(amount, Decimal) else Decimal(0)),
                currency=order.get("currency", "USD"),
                return_id=ev.get("return_id"),
                note=f"opsdesk: {event.name}",
                **refund_lines(event),
            )
        case "email":
            base.update(
                to=order.get("email", ""),
                order_name=order.get("name", ""),
                amount=str(ev.get("amount") or ""),
                currency=order.get("currency", ""),
                **email_fields(ev),  # a parcel's carrier and tracking, for the templates that name them
                **_scan(event),
            )
            if premise := email_premise(spec.params):  # what it tells the customer, for the send's last look
                base.update(premise=premise)
        case "hold_fulfillment":
            base.update(reason=spec.params.get("reason", "other"))
        case "release_hold":
            # The holds it releases, by purpose: those named, else the one a hold of its reason is placed for.
            named = spec.params.get("holds") or holds.purpose_of(str(spec.params.get("reason") or "other"))
            base.update(holds=[str(p) for p in ([named] if isinstance(named, str) else named)])
            base.pop("reason", None)
        case "deactivate_discount":
            base.update(discount_id=ev.get("discount_id", ""))
            if not base["discount_id"] and ev.get("code"):
                base.update(code=ev["code"])  # the connector looks the discount up by it
            if ev.get("discount_name"):
                base.update(discount_name=ev["discount_name"])
        case "approve_return":
            base.update(return_id=ev.get("return_id"))
        case "check_payment":
            base.update(minutes=ev.get("minutes"))
    return base


def _scan(event: StoreEvent) -> dict[str, Any]:
    """The carrier scan an email is about (``scan``): the send's last look asks whether it still stands (ADR 0068)."""
    if not isinstance(event, FulfillmentEventRecorded):
        return {}
    return {"scan": {"event_id": event.event_id, "fulfillment_id": event.fulfillment_id, "status": event.status,
                     "happened_at": event.occurred_at.isoformat()}}


def case_for(
    decision_id: str, decision: Decision, event: StoreEvent, escalation: Escalation, now: datetime,
    *, order_name: str = "", why: str = "", tracking: Mapping[str, Any] | None = None,
) -> CaseRecord:
    """The case a rule opens (``order_name``: the order's, when the event or the stored order has it; ``why``: what
    the person should know that the rule's reason does not say, as why a request's amount is not known;
    ``tracking``: the parcel's, ``tracking.facts_tracking``)."""
    return CaseRecord(
        id=decision_id,
        shop=event.shop,
        kind=QUEUE_KINDS.get(escalation.queue, "order"),
        queue=escalation.queue,
        title=event_title(event, order_name),
        reason=f"{decision.reason}; {why}" if why else decision.reason,
        opened_at=now,
        order_id=event.order_id,
        source=f"decision:{decision_id}",
        priority=escalation.priority,
        detail={"playbook": decision.playbook, "rule": decision.rule_id, "sla": escalation.sla,
                **_hard_deadline(event), **_stock(event), **_shipment(event), **(tracking or {})},
    )


def _hard_deadline(event: StoreEvent) -> dict[str, Any]:
    """A deadline the SLA clocks may not run past: a dispute's evidence-due date."""
    due = getattr(event, "evidence_due_by", None)
    return {"hard_deadline": due.isoformat()} if isinstance(due, datetime) else {}


def _stock(event: StoreEvent) -> dict[str, Any]:
    """The stock a case is about (``detail["stock"]``), by the ids the event gave: the desk names it as the case
    opens (``inventory.named``)."""
    match event:
        case InventoryLevelChanged():
            return {"stock": {"inventory_item_id": event.inventory_item_id, "location_id": event.location_id,
                              "available": event.available}}
        case OrderOversold():
            return {"stock": {"skus": list(event.skus), "available": event.available}}
    return {}


def _shipment(event: StoreEvent) -> dict[str, Any]:
    """The parcel a carrier scan's case is about (``detail["shipment"]``): its fulfilment, the scan and its time."""
    if not isinstance(event, FulfillmentEventRecorded):
        return {}
    return {"shipment": {"fulfillment_id": event.fulfillment_id, "event_id": event.event_id,
                         "status": event.status, "happened_at": event.occurred_at.isoformat()}}


def _about(action: OutboxAction, order_name: str) -> str:
    """What an action was about, for its case's title: its order (by the name given, else the one its payload
    carries, else its id), else the discount it paused (by the code or title the discount guard knew it by,
    else the code or id it was paused by), else whom it was sent to, else the action itself."""
    payload = action.payload
    if action.order_id is not None:
        return f"for {order_label(action.order_id, order_name or str(payload.get('order_name') or ''))}"
    discount = payload.get("discount_name") or payload.get("code") or payload.get("discount_id")
    if action.kind == "deactivate_discount" and discount:
        return f"for discount {discount}"
    if payload.get("to"):
        return f"for {payload['to']}"
    return f"(action {action.id})"


def case_for_failed_action(action: OutboxAction, reason: str, now: datetime, order_name: str = "") -> CaseRecord:
    """An action that exhausted its retries, or was rejected, becomes a case with its history
    (``order_name``: the stored order's, when it has one)."""
    return CaseRecord(
        id=f"action-{action.id}",
        shop=action.shop,
        kind="automation_failure",
        queue="automation",
        title=f"{action.kind} failed {_about(action, order_name)}",
        reason=reason,
        opened_at=now,
        order_id=action.order_id,
        source=f"action:{action.id}",
        priority="high",
        detail={
            "owner": action.payload.get("playbook_owner"),
            "action": action.id,
            "kind": action.kind,
            "attempts": action.attempts,
            "history": list(action.history),
        },
    )
