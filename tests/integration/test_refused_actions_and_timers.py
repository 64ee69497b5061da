"""An outbox action or a timer whose write PostgreSQL refuses for its data fails alone, visibly (ADR 0030).

The value is made to overflow a column (an audit subject of 300 characters, stored in 255) by the outcome
hook or the timer handler, for one item of a batch; the others go through.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from opsdesk.domain.outbox import ActionStatus, SendResult
from opsdesk.domain.records import AuditEntry, OutboxAction, Timer
from opsdesk.engine.outbox import OutboxSender
from opsdesk.ports import UnitOfWork
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration._servers import START, refund_action
from tests.integration.test_outbox_sequence import decision_actions
from tests.integration.test_timers import T0, due, fired, schedule, statuses, sweeper

pytestmark = pytest.mark.postgres

TOO_LONG = "x" * 300  # the audit log's subject is stored in 255 characters
REFUSED = "refused by the database: value too long for type character varying(255)"


def audit(uow: UnitOfWork, subject: str, now: datetime) -> None:
    uow.audit.record([AuditEntry(now, "test", "fired", subject)])


def test_an_action_whose_outcome_is_refused_fails_in_an_automation_case_and_the_others_are_recorded(
    pg_db: SqlDatabase,
) -> None:
    actions = [refund_action(n) for n in range(1, 4)]
    with pg_db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()

    def hook(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        audit(uow, TOO_LONG if action.id == actions[1].id else action.id, now)
        return False

    shopify = RecordingConnector("shopify")
    sender = OutboxSender(pg_db, {"shopify": shopify}, ManualClock(START), worker="w",
                          outcome_hooks={"refund": hook})
    assert sender.run_once() == 3

    with pg_db.unit_of_work(read_only=True) as uow:
        stored = [uow.outbox.get(a.id) for a in actions]
        case = uow.cases.get(f"action-{actions[1].id}")
    assert [a.status for a in stored] == [ActionStatus.SENT, ActionStatus.FAILED, ActionStatus.SENT]
    assert stored[1].last_error == f"its outcome could not be recorded: {REFUSED}"
    assert [h["outcome"] for h in stored[1].history] == ["sent", "failed"]  # what the provider said is kept
    assert (case.queue, case.reason) == ("automation", stored[1].last_error)
    assert sender.run_once() == 0  # nothing is left to send again
    assert len(shopify.sent) == 3


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_a_timer_whose_write_is_refused_fails_at_once_and_the_others_fire(pg_db: SqlDatabase, together: bool) -> None:
    schedule(pg_db, [*due(3), Timer("refused", "test", "s", T0 - timedelta(minutes=1))])

    def handler(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        audit(uow, TOO_LONG if timer.id == "refused" else timer.id, now)

    s = sweeper(pg_db, ManualClock(T0), "w1", handler, attempts=5, together=together)
    assert s.run_once() == 4

    assert (set(fired(pg_db)), statuses(pg_db)) == ({"t0000", "t0001", "t0002"}, {"fired": 3, "failed": 1})
    with pg_db.engine.connect() as conn:
        row = conn.execute(select(t.timers).where(t.timers.c.id == "refused")).mappings().one()
    assert (row["attempts"], row["last_error"]) == (1, f"DataRefused: {REFUSED}")
    assert (s.stats.fired, s.stats.retried, s.stats.failed) == (3, 0, 1)


def test_a_refund_whose_outcome_is_refused_fails_its_email_too_in_its_one_case(pg_db: SqlDatabase) -> None:
    """ADR 0042: the later actions of a decision whose action failed this way are not sent either."""
    refund, email = decision_actions(3001, email_first=True)
    with pg_db.unit_of_work() as uow:
        uow.outbox.add_many([refund, email])
        uow.commit()

    def hook(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        audit(uow, TOO_LONG, now)
        return False

    smtp = RecordingConnector("smtp")
    sender = OutboxSender(pg_db, {"shopify": RecordingConnector("shopify"), "smtp": smtp}, ManualClock(START),
                          worker="w", outcome_hooks={"refund": hook})
    while sender.run_once():
        pass

    with pg_db.unit_of_work(read_only=True) as uow:
        cancelled = uow.outbox.get(email.id)
        [case] = uow.cases.for_order(refund.shop, 3001)
    failure = f"its outcome could not be recorded: {REFUSED}"
    assert (cancelled.status, cancelled.last_error, smtp.sent) == (
        ActionStatus.FAILED, f"not sent: action 1 of this decision (refund) failed: {failure}", [])
    assert (case.id, case.reason) == (
        f"action-{refund.id}", f"{failure}; not sent after it: email (refund_confirmation)")
