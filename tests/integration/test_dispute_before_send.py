"""A chargeback between a refund's decision and its send (ADR 0009, 0041): the outbox's last look finds refunds
frozen on the order since, so the refund is not sent and a case says which dispute, at which status; a dispute won
before the send freezes nothing, and the refund goes. Through the real pipeline, the outbox and the Shopify stand-in
over HTTP, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal

from opsdesk.services.cases import act
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    order,
    order_id_of,
    return_request,
    sql_scenario,
)
from tests.integration.refunded_return_harness import refund_actions, refunds_made
from tests.integration.test_disputes_playbook import dispute

__all__ = ["sql_scenario"]

DUE = "2026-03-20T19:00:00-05:00"
DISPUTE = 2_850_001  # dispute(1)'s id


def decided_then_disputed(scenario: Scenario) -> None:
    """Order 1's return decided (a refund in the outbox, not sent yet), then Shopify's chargeback on the order."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    assert [(a.kind, a.status.value) for a in scenario.actions(order_id_of(1))] == [
        ("email", "pending"), ("refund", "pending")]
    scenario.deliver("disputes/create", dispute(1, due=DUE, status="under_review"))  # the real sample's status


def test_a_refund_decided_before_a_chargeback_is_not_sent_and_its_case_names_the_dispute(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    decided_then_disputed(scenario)
    scenario.work()

    assert refunds_made(scenario, 1) == []
    why = (f"not sent: refunds are frozen on the order since this refund was decided: dispute {DISPUTE} (a chargeback "
           "of 19.99) is under_review; a refund now could pay the customer twice")
    assert refund_actions(scenario, 1) == [("failed", why)]
    assert scenario.mail_to("c1@example.com") == []  # its confirmation fails with it (ADR 0042)
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))
    assert f"dispute {DISPUTE} (a chargeback of 19.99) is under_review" in case.reason
    assert sorted(c.queue for c in scenario.cases()) == ["automation", "disputes"]


def test_a_refund_decided_before_a_chargeback_the_merchant_won_before_the_send_goes_out(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario
    decided_then_disputed(scenario)
    won = dispute(1, due=DUE, status="won", topic="disputes/update")
    won["finalized_on"] = "2026-03-02T10:00:00-05:00"
    scenario.deliver("disputes/update", won)  # the bank decided for the merchant before the outbox ran
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
    assert [c.queue for c in scenario.cases()] == ["disputes"]  # the chargeback's own case, nothing more


def approve_refund(scenario: Scenario, queue: str) -> None:
    """Alice resolves the order's case in ``queue`` by approving its refund (queued, not sent yet)."""
    [case] = scenario.cases(queue=queue)
    with scenario.desk.db.unit_of_work() as uow:
        act(uow, case.id, "resolve", "alice", scenario.clock.now(), scenario.desk.case_hooks,
            resolution="approve_refund", note="checked")
        uow.commit()


def test_a_refund_a_person_approved_on_an_order_frozen_then_goes_out(sql_scenario: Scenario) -> None:
    scenario = sql_scenario  # a damage claim froze the order's refunds; a person decided the refund knowing it
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "DEFECTIVE", note="arrived torn"))
    approve_refund(scenario, "disputes")
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]


def test_a_refund_a_person_approved_before_a_chargeback_is_not_sent(sql_scenario: Scenario) -> None:
    scenario = sql_scenario
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "OTHER"))  # not a simple purchase error: a person's
    approve_refund(scenario, "refunds")
    scenario.deliver("disputes/create", dispute(1, due=DUE, status="under_review"))
    scenario.work()

    assert refunds_made(scenario, 1) == []
    assert [status for status, _ in refund_actions(scenario, 1)] == ["failed"]
    [case] = scenario.cases(queue="automation")
    assert f"dispute {DISPUTE} (a chargeback of 19.99) is under_review" in case.reason


def test_a_refund_a_person_approved_on_a_damage_claim_is_not_sent_when_a_chargeback_came_since(
    sql_scenario: Scenario,
) -> None:
    scenario = sql_scenario  # the person knew of the damage claim, not of the chargeback that came after
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "DEFECTIVE", note="arrived torn"))
    approve_refund(scenario, "disputes")
    scenario.deliver("disputes/create", dispute(1, due=DUE, status="under_review"))
    scenario.work()

    assert refunds_made(scenario, 1) == []
    why = (f"not sent: refunds are frozen on the order since this refund was decided: dispute {DISPUTE} (a chargeback "
           "of 19.99) is under_review; a refund now could pay the customer twice (it was decided knowing: return "
           "4000001 claims damage)")
    assert refund_actions(scenario, 1) == [("failed", why)]
    assert scenario.mail_to("c1@example.com") == []
    [case] = scenario.cases(queue="automation")
    assert f"dispute {DISPUTE} (a chargeback of 19.99) is under_review" in case.reason
