"""Read models for orders: the state, the owner, every decision with its explanation, actions, cases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from opsdesk.domain.action_order import waiting_for
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services.tracking import order_tracking

#: The moment an event key ends with (``order.paid:5000:2026-11-16T05:43:26+00:00``).
_KEY_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?$")

MAX_ORDER_ID = 2**63 - 1  # a signed 64-bit column, as Shopify's ids are


def order_view(uow: UnitOfWork, order_id: int, shop: str | None) -> dict[str, Any]:
    """Everything known about one order; ``shop`` may be omitted when the id is unique."""
    state = _find(uow, order_id, shop)
    decisions = uow.decisions.for_order(state.shop, state.order_id)
    actions = uow.outbox.for_order(state.shop, state.order_id)
    waits = waiting_for(actions)
    cases = uow.cases.for_order(state.shop, state.order_id)
    return {
        "shop": state.shop,
        "id": state.order_id,
        "state": _state(state),
        "owner": state.owner,
        "decisions": [
            {
                "id": d.id,
                "event": d.event_name,
                "playbook": d.playbook,
                "rule": d.rule_id,
                "policy_version": d.policy_version,
                "outcome": d.outcome,
                "explanation": d.reason,
                "inputs": d.inputs,
                "decided_at": d.decided_at,
                # When it happened in Shopify; ``decided_at`` is when the desk received and decided on it, later.
                "occurred_at": _occurred(d.inputs, d.event_key),
            }
            for d in decisions
        ],
        "actions": [action_view(a, waits) for a in actions],
        "cases": [{"key": c.key, **asdict(c)} for c in cases],
    }


def _occurred(inputs: Mapping[str, Any], event_key: str) -> datetime | str | None:
    """When the decided event happened in Shopify: its facts say it, or (no rule looked: no facts kept) its key ends
    with it (``order.paid:<order>:<moment>``). A time of the desk's own, so typed (the API writes it in UTC, ADR
    0059); text that is no time is given as it is."""
    event = inputs.get("event")
    found = event.get("occurred_at") if isinstance(event, dict) else None
    moment = _KEY_MOMENT.search(event_key)
    text = str(found) if found else moment.group(0) if moment else None
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return text


def action_view(a: OutboxAction, waits: Mapping[str, OutboxAction]) -> dict[str, Any]:
    """One action as the order's API and pages show it (``waits``: ``action_order.waiting_for`` of its order's)."""
    return {
        "id": a.id,
        "kind": a.kind,
        "provider": a.provider,
        "status": a.status.value,
        "attempts": a.attempts,
        "last_error": a.last_error,
        "idempotency_key": a.idempotency_key,
        "payload": a.payload,
        "history": list(a.history),
        "position": a.position,
        # A pending action not yet sent because an earlier one of its decision is pending (ADR 0042).
        "waits_for": {"id": waits[a.id].id, "kind": waits[a.id].kind} if a.id in waits else None,
    }


def _find(uow: UnitOfWork, order_id: int, shop: str | None) -> OrderState:
    if not 0 <= order_id <= MAX_ORDER_ID:  # never stored (the normaliser refuses it); SQLite would overflow
        raise NotFound(f"no order {order_id}")
    if shop:
        state = uow.orders.find(ShopDomain(shop), OrderId(order_id))
        if state is None:
            raise NotFound(f"no order {order_id} in {shop}")
        return state
    found = uow.orders.find_by_id(OrderId(order_id))
    if not found:
        raise NotFound(f"no order {order_id}")
    if len(found) > 1:
        raise Conflict(f"order {order_id} exists in {len(found)} shops; pass ?shop=")
    return found[0]


def _state(state: OrderState) -> dict[str, Any]:
    snap = state.snapshot
    return {
        "name": snap.name if snap else None,
        "email": snap.email if snap else None,
        "currency": snap.currency if snap else None,
        "total": str(snap.total.amount) if snap else None,
        "payment": state.payment_status,
        "fulfilment": state.fulfilment_status,
        "cancelled": bool(snap and snap.cancelled_at),
        "carrier_status": state.carrier_status.status if state.carrier_status else None,
        # Each fulfilment's carrier and parcels (number, http(s) link), as its newest fulfilments/* said them.
        "tracking": order_tracking(state),
        "returns": {str(k): v.status for k, v in state.returns.items()},
        "refunds": {str(k): str(v.amount) for k, v in state.refunds.items()},
        "refunded": str(state.refunded),
        "disputes": {str(k): v.status for k, v in state.disputes.items()},
        "ship_by": state.ship_by,
        "last_event": state.last_event,
        "last_event_at": state.last_event_at,
    }
