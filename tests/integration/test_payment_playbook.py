"""Payment gateway timeouts (playbooks/payments.yaml, services/payments.py) on a virtual clock, from
Shopify's ``orders/create`` and ``orders/paid`` samples: a durable timer per pending order, a re-check
through the Admin API stand-in, then a reminder and a case, or nothing when the payment went through.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    make_scenario,
    order,
    order_id_of,
    scenario,
    sql_scenario,
)

__all__ = ["scenario", "sql_scenario"]


def pending_order(
    scenario: Scenario, n: int, *, shopify_says: str = "PENDING", gateway: str = "shopify_payments"
) -> None:
    scenario.shopify.add_order(order_id_of(n), total="19.99", gateway=gateway, financial_status=shopify_says)
    scenario.deliver("orders/create", order(n, MONDAY_9AM, financial_status="pending"))


def test_a_payment_still_pending_after_30_minutes_is_checked_again_then_the_customer_is_reminded(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario  # on SQLite and on PostgreSQL: timers, outbox hooks and signals in real SQL
    pending_order(scenario, 1)
    scenario.later(minutes=29)
    assert [c.operation for c in scenario.shopify.calls] == []  # a timer waits; nothing polls
    scenario.later(minutes=1)

    assert [c.operation for c in scenario.shopify.calls] == ["order"]  # the re-check (a query)
    [reminder] = scenario.mail_to("c1@example.com")
    assert reminder.subject == "About your order #1001"
    assert "We have not received the payment for your order yet" in reminder.body
    [case] = scenario.cases()
    assert (case.queue, case.kind, case.order_id, case.owner) == (
        "payments",
        "payment",
        order_id_of(1),
        "alice",
    )
    # Opened at 09:30 New York time: 4 business hours with the lunch hour end at 14:30.
    assert case.due_at == datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    assert [d[2] for d in scenario.decisions(order_id_of(1)) if d[1] == "payments"] == [
        "recheck-pending-payment",
        "remind-customer",
    ]
    scenario.later(hours=3)
    assert len(scenario.mail_to("c1@example.com")) == 1  # reminded once


def test_an_order_paid_before_the_limit_is_left_alone(scenario: Scenario) -> None:
    pending_order(scenario, 1)
    scenario.later(minutes=10)
    paid = order(1, MONDAY_9AM, financial_status="paid")
    paid["updated_at"] = scenario.clock.now().isoformat()
    scenario.deliver("orders/paid", paid)
    scenario.later(minutes=30)

    assert (
        scenario.shopify.calls == [] and scenario.mail_to("c1@example.com") == [] and scenario.cases() == []
    )
    assert [
        d for d in scenario.decisions(order_id_of(1)) if d[1] == "payments"
    ] == []  # the timer found it paid


def test_a_payment_shopify_has_although_its_webhook_was_lost_stops_at_the_re_check(
    scenario: Scenario,
) -> None:
    pending_order(scenario, 1, shopify_says="PAID")
    scenario.later(minutes=31)

    assert [c.operation for c in scenario.shopify.calls] == ["order"]
    assert scenario.mail_to("c1@example.com") == [] and scenario.cases() == []
    assert ("payment.overdue", "payments", "paid-after-all", "ignore") in scenario.decisions(order_id_of(1))


@pytest.mark.parametrize(
    "gateway", ["bank_deposit", "manual", "Bank Deposit", "Money Order", "Cash on Delivery (COD)"]
)
def test_a_manual_payment_method_is_pending_by_nature_and_is_not_chased(scenario: Scenario, gateway: str) -> None:
    pending_order(scenario, 1, gateway=gateway)  # Shopify's own names of its suggested manual methods too
    scenario.later(minutes=31)
    assert scenario.mail_to("c1@example.com") == [] and scenario.cases() == []
    assert ("payment.overdue", "payments", "manual-payment-waits", "ignore") in scenario.decisions(order_id_of(1))


def test_a_custom_manual_method_listed_once_in_opsdesk_yaml_is_not_chased_and_one_taken_out_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one list of slow methods: the stuck-order monitor's, read by the playbook as event.slow_method.
    slow = {"monitors": {"stuck_orders": {"pending_by_gateway": {"Pay by Invoice": 240}}}}
    for run in make_scenario(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'opsdesk.db'}", **slow):
        pending_order(run, 1, gateway="pay by invoice")  # any letter case
        pending_order(run, 2, gateway="manual")  # no longer listed: chased like any other
        run.later(minutes=31)
        assert ("payment.overdue", "payments", "manual-payment-waits", "ignore") in run.decisions(order_id_of(1))
        assert [c.order_id for c in run.cases()] == [order_id_of(2)]
        assert run.mail_to("c1@example.com") == [] and len(run.mail_to("c2@example.com")) == 1


def test_a_re_check_shopify_refuses_still_ends_in_a_reminder_and_a_payments_case(scenario: Scenario) -> None:
    pending_order(scenario, 1)
    scenario.shopify.script("403-scope")  # this call refused, not the token (ADR 0067)
    scenario.later(minutes=31)

    assert len(scenario.mail_to("c1@example.com")) == 1
    assert [c.queue for c in scenario.cases()] == ["payments"]  # not an automation failure besides


def test_a_cancelled_order_is_not_chased(scenario: Scenario) -> None:
    pending_order(scenario, 1)
    gone = order(1, MONDAY_9AM, financial_status="pending")
    gone.update(
        cancelled_at=(MONDAY_9AM + timedelta(minutes=5)).isoformat(),
        cancel_reason="customer",
        updated_at=(MONDAY_9AM + timedelta(minutes=5)).isoformat(),
    )
    scenario.deliver("orders/cancelled", gone)
    scenario.later(minutes=40)
    assert scenario.shopify.calls == [] and scenario.cases() == []
    assert [d for d in scenario.decisions(order_id_of(1)) if d[1] == "payments"] == []
