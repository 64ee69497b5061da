"""A batch mixing refunds and emails: the refunds' outcomes are recorded together in one transaction (Shopify
recognises a refund sent again by its idempotency key), each email's before the next action is sent (a relay
delivers a message sent again twice), and the emails share one SMTP connection. Real SQLite file, a real SMTP
server (aiosmtpd), a manual clock.
"""

from __future__ import annotations

from datetime import datetime

from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.outbox import ActionStatus, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.ports import UnitOfWork
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration._servers import START, outbox_action, refund_action
from tests.integration.test_outbox_batches import (
    CountingDatabase,
    db,  # noqa: F401 (the fixture: a migrated SQLite file)
    get,
)

SENDER = "desk@shop.example"


def email(n: int, at: datetime = START) -> OutboxAction:
    """An email to customer ``n``, a decision of its own."""
    payload = {"to": f"customer-{n}@example.com", "order_name": f"#{3000 + n}", "template": "generic"}
    return outbox_action(
        "email", 3000 + n, {**payload, "message": f"message {n}"}, decision=f"mail-{n}", at=at
    )


def test_refunds_are_recorded_in_one_transaction_and_each_email_before_the_next_send(
    db: SqlDatabase,  # noqa: F811
) -> None:
    refunds, emails = [refund_action(n) for n in range(1, 6)], [email(n) for n in range(5)]
    with db.unit_of_work() as uow:
        uow.outbox.add_many([*refunds, *emails])
        uow.commit()
    message_ids = {f"<{e.idempotency_key}@shop.example>": e for e in emails}
    counting = CountingDatabase(db)
    order: list[str] = []  # the kinds, in the order sent
    unrecorded: list[list[str]] = []  # before each send: the emails delivered whose outcome is not recorded
    recorded_by: dict[str, int] = {}  # action id -> the write transaction that recorded its outcome

    with FakeSmtp() as smtp:

        def check(uow: UnitOfWork, action: OutboxAction) -> str:
            delivered = [message_ids[m.message_id] for m in smtp.messages]
            unrecorded.append(
                [e.id for e in delivered if uow.outbox.get(e.id).status is ActionStatus.PENDING]
            )
            order.append(action.kind)
            return ""

        def hook(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
            recorded_by[action.id] = counting.writes
            return False

        relay = SmtpEmail(host=smtp.host, port=smtp.port, sender=SENDER, timeout=2.0)
        sender = OutboxSender(
            counting,
            {"shopify": RecordingConnector("shopify"), "smtp": relay},
            ManualClock(START),
            worker="w",
            outcome_hooks={"refund": hook, "email": hook},
            checks={"refund": check, "email": check},
        )

        assert sender.run_once() == 10
        messages = smtp.messages

    # The claim's order mixes them: an email between two refunds, a refund between two emails.
    assert "refund" in order[order.index("email") :] and "email" in order[order.index("refund") :], order
    assert unrecorded == [[]] * 10
    assert len({recorded_by[r.id] for r in refunds}) == 1
    assert len({recorded_by[e.id] for e in emails}) == 5
    assert not {recorded_by[r.id] for r in refunds} & {recorded_by[e.id] for e in emails}
    assert counting.writes == 1 + 5 + 1  # the claim, each email, the refunds
    assert [get(db, a).status for a in [*refunds, *emails]] == [ActionStatus.SENT] * 10
    assert sorted(message_ids[m.message_id].id for m in messages) == sorted(e.id for e in emails)
    assert len({m.peer for m in messages}) == 1  # one connection for the batch's emails
