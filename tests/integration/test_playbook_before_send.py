"""The refund's playbook asked again before the send, on the order as it is now (ADR 0041, amended in session 15):
an earlier rule that would now take the event first (a ``vip`` tag since sends it to a person), the deciding rule's
``when`` or guardrails edited since, nothing changed, and the decision's own tag. Through the real pipeline, the
outbox and the Shopify stand-in over HTTP, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsdesk import app as composition
from opsdesk.policy import loader
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    ORDER_PLAYBOOKS,
    Scenario,
    database_url,
    make_scenario,
    order,
    order_id_of,
    return_request,
    sql_scenario,
)
from tests.integration.refunded_return_harness import refund_actions, refunds_made
from tests.integration.test_rule_before_send import tagged
from tests.pipeline_harness import STARTER

__all__ = ["sql_scenario"]

REFUND_RULE = "auto-refund-simple-purchase-error"
#: The example of the session's brief: orders tagged ``vip`` go to a person, before the starter's refund rule.
VIP_FIRST = {
    "id": "vip-to-a-person",
    "when": ["return.requested"],
    "if": '"vip" in order.tags',
    "escalate": {"queue": "refunds", "priority": "high", "sla": "24 business hours"},
}
#: A rule before the refund rule that sends an order the desk is refunding already to a person.
QUEUED_FIRST = {**VIP_FIRST, "id": "already-refunding", "if": '"refund-queued" in order.tags'}


def refunds(edit: Callable[[list[dict[str, Any]]], None]) -> dict[str, Any]:
    """The starter's refunds playbook, its rules edited by ``edit``."""
    playbook: dict[str, Any] = yaml.safe_load((STARTER / "refunds.yaml").read_text())
    edit(playbook["rules"])
    return playbook


def folder(tmp_path: Path, name: str, refunds_playbook: dict[str, Any]) -> Path:
    """The scenarios' order-side playbooks with this refunds playbook, in ``tmp_path / name``."""
    path = tmp_path / name
    path.mkdir()
    for playbook in ORDER_PLAYBOOKS:
        (path / f"{playbook}.yaml").write_text((STARTER / f"{playbook}.yaml").read_text())
    (path / "refunds.yaml").write_text(yaml.safe_dump(refunds_playbook, sort_keys=False))
    return path


def refund_rule(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return next(rule for rule in rules if rule["id"] == REFUND_RULE)


def edited_desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                edit: Callable[[list[dict[str, Any]]], None]) -> Iterator[Scenario]:
    """The scenario desk (SQLite file or PostgreSQL, as ``request`` says) with the refunds playbook edited."""
    ours = folder(tmp_path, "ours", refunds(edit))
    yield from make_scenario(tmp_path, monkeypatch, database_url(request, tmp_path), playbooks=str(ours))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def vip_scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The refunds playbook's first rule sends ``vip`` orders to a person (the example of the session's brief)."""
    yield from edited_desk(request, tmp_path, monkeypatch, lambda rules: rules.insert(0, VIP_FIRST))


def tags_first(rules: list[dict[str, Any]]) -> None:
    """The refund rule tags the order ``refund-queued`` before its refund; a rule before it sends such an order to a
    person."""
    refund_rule(rules)["then"].insert(0, {"type": "add_tags", "tags": ["refund-queued"]})
    rules.insert(0, QUEUED_FIRST)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queued_scenario(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scenario]:
    yield from edited_desk(request, tmp_path, monkeypatch, tags_first)


@contextmanager
def restarted(scenario: Scenario, playbooks: Path) -> Iterator[Scenario]:
    """The desk started again on the same database, with the merchant's edited playbooks."""
    desk = composition.build(scenario.desk.settings, clock=scenario.clock, playbooks=loader.load([playbooks]))
    try:
        yield Scenario(desk, scenario.clock, scenario.shopify, scenario.smtp)
    finally:
        for connector in desk.connectors.values():
            close = getattr(connector, "close", None)
            if close is not None:
                close()


def decided(scenario: Scenario) -> None:
    """Order 1 and its return for a simple purchase error: the refund rule decides a refund, queued, not sent."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("returns/request", return_request(1, "UNWANTED"))
    assert ("return.requested", "refunds", REFUND_RULE, "automate") in scenario.decisions(order_id_of(1))


def not_sent(scenario: Scenario, why: str) -> None:
    """Nothing reached the stand-in; the refund failed with ``why`` into an ``automation`` case that says it."""
    assert refunds_made(scenario, 1) == []
    assert refund_actions(scenario, 1) == [("failed", f"not sent: {why}")]
    assert scenario.mail_to("c1@example.com") == []  # its confirmation fails with it (ADR 0042)
    [case] = scenario.cases(queue="automation")
    assert (case.kind, case.order_id) == ("automation_failure", order_id_of(1))
    assert why in case.reason


def test_a_refund_an_earlier_rule_would_now_send_to_a_person_is_not_sent(vip_scenario: Scenario) -> None:
    scenario = vip_scenario
    decided(scenario)
    tagged(scenario, "vip")  # the merchant tagged the order before the outbox ran
    scenario.work()

    not_sent(scenario, 'the rule vip-to-a-person (playbook refunds) would take this event before the rule '
             f'{REFUND_RULE} now: order.tags gained "vip" since this refund was decided')


def test_a_refund_whose_playbook_decides_the_same_now_goes_out(vip_scenario: Scenario) -> None:
    scenario = vip_scenario
    decided(scenario)
    tagged(scenario, "wholesale")  # no rule of the playbook reads it
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
    assert scenario.cases(queue="automation") == []


def test_the_decisions_own_tag_does_not_make_an_earlier_rule_take_the_event(queued_scenario: Scenario) -> None:
    scenario = queued_scenario
    decided(scenario)
    tagged(scenario, "refund-queued")  # the decision's own tag, back in orders/updated before the refund went
    scenario.work()

    assert refunds_made(scenario, 1) == [Decimal("19.99")]
    assert refund_actions(scenario, 1) == [("sent", "")]
    assert scenario.cases(queue="automation") == []


def test_a_refund_whose_rule_no_longer_listens_to_its_event_is_not_sent(sql_scenario: Scenario, tmp_path: Path) -> None:
    decided(sql_scenario)  # by the starter's playbook; the merchant moves the rule to approved returns, and restarts
    edited = folder(tmp_path, "edited", refunds(lambda rules: refund_rule(rules).update(when=["return.approved"])))

    with restarted(sql_scenario, edited) as scenario:
        scenario.work()

        not_sent(scenario, f"the rule {REFUND_RULE} (playbook refunds) no longer listens to return.requested "
                 "(its when: return.approved)")


def test_a_refund_over_a_per_action_cap_lowered_since_is_not_sent(sql_scenario: Scenario, tmp_path: Path) -> None:
    decided(sql_scenario)

    def lowered(rules: list[dict[str, Any]]) -> None:
        refund_rule(rules)["guardrails"][0] = {"per": "action", "max_amount": 10}

    with restarted(sql_scenario, folder(tmp_path, "capped", refunds(lowered))) as scenario:
        scenario.work()

        not_sent(scenario, f"the rule {REFUND_RULE} (playbook refunds) would send it to a person now: "
                 "guardrail: amount 19.99 would exceed 10 (action)")
