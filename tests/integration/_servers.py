"""Outbox actions built the way ``services/effects.py`` builds them, for the connector and outbox tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opsdesk.domain.outbox import action_id, idempotency_key
from opsdesk.domain.records import OutboxAction
from opsdesk.services.effects import PROVIDERS
from tests.samples import SHOP

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "shpat_test_token"


def outbox_action(kind: str, order_id: int | None, payload: dict[str, Any], *, decision: str = "decision-1",
                  index: int = 0, shop: str = SHOP, at: datetime = START) -> OutboxAction:
    """An action with the deterministic id and idempotency key a recorded decision gives it."""
    aid = action_id(decision, index)
    return OutboxAction(id=aid, decision_id=decision, shop=shop, order_id=order_id, kind=kind,
                        provider=PROVIDERS[kind], payload={"shop": shop, "order_id": order_id, **payload},
                        idempotency_key=idempotency_key(aid), created_at=at, next_attempt_at=at)


def refund_action(order_id: int, amount: str = "10.00", *, at: datetime = START,
                  **payload: Any) -> OutboxAction:
    """A refund as the refunds playbook asks for one (no gateway: the connector looks it up)."""
    return outbox_action("refund", order_id, {"amount": amount, "currency": "USD", "return_id": None,
                                              "note": "opsdesk: RefundRequested", **payload},
                         decision=f"decision-{order_id}", at=at)


def email_action(template: str, **payload: Any) -> OutboxAction:
    fields = {"to": "customer@example.com", "order_name": "#1001", "amount": "25.00", "currency": "EUR",
              "template": template, **payload}
    return outbox_action("email", 1001, fields, decision=f"email-{template}")
