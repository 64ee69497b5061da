"""The actions not sent because an earlier one of their decision failed reach a person, and are counted (ADR 0042).

When the failed action's outcome hook takes charge of the failure (its own fallback or case, no automation case),
the later actions it cancelled are named all the same: in the case the hook opened, or else in an ``automation``
case of their own. Whatever failed, the sender counts them (``stats.cancelled``, ``opsdesk_outbox_actions_total``
with ``outcome="cancelled"``).

The decision is built as a playbook's (``services.effects.actions_for``); the hook is the payments playbook's own
(``services.payments.checked``: a re-check that failed raises ``payment.overdue`` with ``unknown``, whose rule opens
the payments case later), on the in-memory outbox, a SQLite file and PostgreSQL; end to end, a payments playbook
whose re-check is followed by a tag, against the Shopify Admin stand-in refusing the re-check.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.outbox import ActionStatus, Rejected, SendResult
from opsdesk.domain.policies import ActionSpec, Decision, Outcome
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.ports import Database, UnitOfWork
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.services import payments
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.effects import actions_for
from opsdesk.services.resolutions import CaseResolved
from opsdesk.testing import ManualClock
from tests.integration._servers import START
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    database_url,
    make_scenario,
    order,
    order_id_of,
)
from tests.integration.test_outbox_sequence import add, decision_actions, sender
from tests.pipeline_harness import STARTER
from tests.samples import SHOP

REFUSED = "Access denied for order field"
CHECK_THEN_TAG = (ActionSpec("check_payment"), ActionSpec("add_tags", {"tags": ["payment-rechecked"]}))


def check_then_tag(order: int) -> list[OutboxAction]:
    """A re-check of the order's payment, then a tag: two actions of one decision, in that order."""
    decision = Decision(
        "payments", "v1", "recheck-pending-payment", Outcome.AUTOMATE, "pending", CHECK_THEN_TAG
    )
    event = CaseResolved(ShopDomain(SHOP), START, f"case-{order}", OrderId(order))
    facts = {
        "event": {"minutes": 30},
        "order": {"currency": "USD", "email": "c@example.com", "name": f"#{order}"},
    }
    return actions_for(f"decision-{order}", decision, event, facts, START)


def run(
    db: Database, refused: OutboxAction, hooks: dict[str, OutcomeHook] | None = None
) -> tuple[OutboxSender, list[str]]:
    """Send everything due, Shopify refusing ``refused``: the sender, and the outcomes it told (the metrics')."""
    outcomes: list[str] = []
    s = sender(
        db,
        ManualClock(START),
        [],
        {refused.id: [Rejected(REFUSED)]},
        outcome_hooks=hooks or {},
        on_outcome=outcomes.append,
    )
    while s.run_once():
        pass
    return s, outcomes


def test_a_failure_the_hook_takes_charge_of_opens_an_automation_case_for_the_actions_it_cancelled(
    any_db: Database,
) -> None:
    check, tag = check_then_tag(1001)
    add(any_db, [check, tag])

    s, outcomes = run(any_db, check, {"check_payment": payments.checked})

    with any_db.unit_of_work(read_only=True) as uow:
        cases = uow.cases.for_order(SHOP, 1001)
        [signal] = uow.deliveries.pending(10)  # the hook took charge: payment.overdue, checked "unknown"
        cancelled = uow.outbox.get(tag.id)
    failure = f"rejected by shopify: {REFUSED}"
    assert signal.delivery.topic == "opsdesk/payment_overdue"
    assert (cancelled.status, cancelled.attempts) == (ActionStatus.FAILED, 0)
    assert cancelled.last_error == f"not sent: action 1 of this decision (check_payment) failed: {failure}"
    # The tag not sent is a person's to see, though the hook took charge of the re-check's own failure.
    [case] = cases
    assert (case.id, case.queue) == (f"action-{check.id}", "automation")
    assert case.reason == f"{failure}; not sent after it: add_tags"
    assert case.detail["cancelled"] == [{"action": tag.id, "kind": "add_tags", "position": 1}]
    assert (s.stats.failed, s.stats.cancelled) == (1, 1)
    assert outcomes == ["failed", "cancelled"]


def test_a_failure_the_hook_takes_charge_of_alone_opens_no_case(any_db: Database) -> None:
    """The payments playbook as it ships: the re-check alone. Its hook's event opens the payments case later."""
    [check] = check_then_tag(1002)[:1]
    add(any_db, [check])
    s, _ = run(any_db, check, {"check_payment": payments.checked})
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.cases.for_order(SHOP, 1002) == []
    assert (s.stats.failed, s.stats.cancelled) == (1, 0)


def test_the_case_a_hook_opened_for_the_failure_names_the_actions_not_sent_after_it(any_db: Database) -> None:
    """A hook that opens its own case for the failure says so by returning the case's id: that case's detail and
    timeline name the later actions; no automation case opens beside it."""
    check, tag = check_then_tag(1003)

    def own_case(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool | str:
        if action.status is not ActionStatus.FAILED:
            return False
        case = CaseRecord(
            id="payments-1003",
            shop=action.shop,
            kind="payment",
            queue="payments",
            title="Payment unknown",
            reason="the re-check failed",
            opened_at=now,
            order_id=action.order_id,
            source="monitor:payments",
        )
        return open_case(uow, case, CaseHooks(), now).id

    add(any_db, [check, tag])
    s, _ = run(any_db, check, {"check_payment": own_case})

    with any_db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.for_order(SHOP, 1003)
        timeline = uow.cases.timeline(case.id)
    assert case.id == "payments-1003"
    assert case.detail["cancelled"] == [{"action": tag.id, "kind": "add_tags", "position": 1}]
    assert timeline[-1].note == (
        f"check_payment failed: rejected by shopify: {REFUSED}; not sent after it: add_tags"
    )
    assert s.stats.cancelled == 1


def test_a_rejected_refund_counts_its_email_cancelled(any_db: Database) -> None:
    refund, email = decision_actions(1004, email_first=True)
    add(any_db, [refund, email])
    s, outcomes = run(any_db, refund)
    assert (s.stats.sent, s.stats.failed, s.stats.cancelled) == (0, 1, 1)
    assert outcomes == ["failed", "cancelled"]


# -- end to end: a payments playbook that tags the order after its re-check ---------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tagging_payments(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scenario]:
    """The scenario desk, its payments playbook the starter's but for a tag after the re-check."""
    playbooks = tmp_path / "tagging"
    playbooks.mkdir()
    starter = (STARTER / "payments.yaml").read_text()
    recheck = "      - {type: check_payment}\n"
    assert recheck in starter
    tagging = starter.replace(recheck, recheck + "      - {type: add_tags, tags: [payment-rechecked]}\n")
    (playbooks / "payments.yaml").write_text(tagging)
    yield from make_scenario(tmp_path, monkeypatch, database_url(request, tmp_path), playbooks=str(playbooks))


def test_a_refused_re_check_followed_by_a_tag_ends_in_the_payments_case_and_a_case_for_the_tag(
    tagging_payments: Scenario,
) -> None:
    scenario = tagging_payments
    scenario.shopify.add_order(
        order_id_of(1), total="19.99", gateway="shopify_payments", financial_status="PENDING"
    )
    scenario.deliver("orders/create", order(1, MONDAY_9AM, financial_status="pending"))
    scenario.shopify.script("403-scope")  # this call refused, not the token (ADR 0067)
    scenario.later(minutes=31)

    assert len(scenario.mail_to("c1@example.com")) == 1  # the playbook's reminder, as without the tag
    assert scenario.effects("tagsAdd") == []
    cases = {c.queue: c for c in scenario.cases()}
    assert sorted(cases) == ["automation", "payments"]
    assert cases["automation"].reason.endswith("; not sent after it: add_tags")
    [tag] = [a for a in scenario.actions(order_id_of(1)) if a.kind == "add_tags"]
    assert cases["automation"].detail["cancelled"] == [{"action": tag.id, "kind": "add_tags", "position": 1}]
    assert tag.last_error.startswith("not sent: action 1 of this decision (check_payment) failed: ")
