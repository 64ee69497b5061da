"""An action that exhausted its retries becomes a case titled by what it was about, never "order None"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from opsdesk.domain.records import OutboxAction
from opsdesk.services.effects import case_for_failed_action

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def failed(kind: str, order_id: int | None, payload: dict[str, Any]) -> OutboxAction:
    return OutboxAction("a1", "d1", "demo.myshopify.com", order_id, kind, "shopify", payload, "k1", NOW, NOW)


@pytest.mark.parametrize(
    ("action", "title"),
    [
        (failed("deactivate_discount", None, {"discount_id": "", "code": "WELCOME10"}),
         "deactivate_discount failed for discount WELCOME10"),
        (failed("deactivate_discount", None, {"discount_id": "gid://shopify/DiscountCodeNode/77"}),
         "deactivate_discount failed for discount gid://shopify/DiscountCodeNode/77"),  # all the desk knows of it
        (failed("deactivate_discount", None, {"discount_id": "gid://shopify/DiscountCodeNode/77",
                                              "discount_name": "WELCOME10"}),  # as the discount guard knows it
         "deactivate_discount failed for discount WELCOME10"),
        (failed("refund", 42, {"amount": "10.00"}), "refund failed for order id 42"),
        (failed("email", 42, {"to": "c@x.example", "order_name": "#1001"}), "email failed for order #1001"),
        (failed("email", None, {"to": "ana@x.example", "subject": "3 cases"}), "email failed for ana@x.example"),
        (failed("chat", None, {"webhook_env": "ANA_CHAT"}), "chat failed (action a1)"),
    ],
)
def test_a_failed_action_case_is_titled_by_what_the_action_was_about(action: OutboxAction, title: str) -> None:
    assert case_for_failed_action(action, "rejected", NOW).title == title


def test_a_failed_action_case_names_the_order_by_its_stored_name() -> None:
    refund = failed("refund", 42, {"amount": "10.00"})
    assert case_for_failed_action(refund, "rejected", NOW, order_name="#1001").title == "refund failed for order #1001"
