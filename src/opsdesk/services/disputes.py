"""Disputes and damage claims: the evidence a person needs, gathered into the case when it opens.

A chargeback is won or lost on evidence sent before the network's due date, so the case carries it
from the start: the order as sold, its fulfilments and the carrier's last scan, refunds and returns,
every decision taken on the order, and every message sent to the customer (with whether it went out).
The SLA clock's hard deadline is the dispute's ``evidence_due_by`` (set by ``effects.case_for``).
Automatic refunds on the order stop by themselves: ``order.refunds_frozen`` is true while a dispute the
merchant has not won, or a damage claim, is on it, and the refunds playbook does not act then (ADR 0009).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.domain.records import CaseRecord
from opsdesk.ports import UnitOfWork

#: How many decisions and messages the evidence keeps (the newest).
KEEP = 50


def with_evidence(uow: UnitOfWork, record: CaseRecord) -> CaseRecord:
    """The case with ``detail["evidence"]`` about its order (a case without an order is left as it is)."""
    if record.order_id is None:
        return record
    return replace(record, detail={**record.detail, "evidence": evidence(uow, record)})


def evidence(uow: UnitOfWork, record: CaseRecord) -> dict[str, Any]:
    assert record.order_id is not None
    shop, order_id = ShopDomain(record.shop), OrderId(record.order_id)
    state = uow.orders.find(shop, order_id)
    decisions = uow.decisions.for_order(shop, order_id)[-KEEP:]
    actions = uow.outbox.for_order(shop, order_id)
    return {
        "order": _order(state),
        "fulfilments": _versions(state.fulfillments) if state else {},
        "carrier": _version(state.carrier_status) if state and state.carrier_status else None,
        "refunds": _versions(state.refunds) if state else {},
        "returns": _versions(state.returns) if state else {},
        "events": [
            {"at": d.decided_at.isoformat(), "event": d.event_name, "outcome": d.outcome, "rule": d.rule_id}
            for d in decisions
        ],
        "messages": [
            {
                "template": a.payload.get("template"),
                "to": a.payload.get("to"),
                "status": a.status.value,
                "created_at": a.created_at.isoformat(),
            }
            for a in actions
            if a.kind == "email"
        ][-KEEP:],
    }


def _order(state: OrderState | None) -> dict[str, Any] | None:
    snap = state.snapshot if state else None
    if snap is None:
        return None
    return {
        "name": snap.name,
        "email": snap.email,
        "created_at": snap.created_at.isoformat(),
        "total": str(snap.total.amount),
        "currency": snap.currency,
        "financial_status": snap.financial_status,
        "shipping_country": snap.shipping_country,
        "lines": [{"sku": li.sku, "quantity": li.quantity, "price": str(li.price)} for li in snap.line_items],
    }


def _versions(items: dict[int, Versioned]) -> dict[str, dict[str, str]]:
    return {str(k): _version(v) for k, v in sorted(items.items())}


def _version(value: Versioned) -> dict[str, str]:
    return {"status": value.status, "at": value.at.isoformat(), "amount": str(value.amount)}
