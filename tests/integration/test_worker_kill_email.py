"""Reliability test 5 for email (quick size): ``opsdesk worker`` killed with SIGKILL at random moments while it
drains email actions to a real SMTP server, restarted each time.

A relay cannot recognise a message sent again, so the outbox records each email's outcome before it sends the
next one: every email arrives, and a kill duplicates at most the one message in flight (not the batch sent so far).
The relay takes a little time per message so that the kills land between two messages of a batch.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.storage.sql import SqlDatabase
from tests.integration.test_outbox_mixed_batch import email
from tests.integration.test_worker_kill import drain, kill_while_draining, worker_setup

ACTIONS = 300
KILLS = 5
SENDER = "desk@shop.example"


def seed_emails(db: SqlDatabase, now: datetime) -> list[OutboxAction]:
    actions = [email(n, now) for n in range(ACTIONS)]
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    return actions


def test_a_worker_killed_while_it_sends_email_resends_at_most_the_message_in_flight(tmp_path: Path) -> None:
    rng = random.Random(5)
    with FakeSmtp(delay=0.01) as smtp:
        relay = {"host": smtp.host, "port": smtp.port, "sender": SENDER, "timeout_seconds": 2}
        engine, db = worker_setup(tmp_path, {"smtp": relay})
        actions = seed_emails(db, datetime.now(UTC))
        kills, mid_drain = kill_while_draining(tmp_path, db, rng, KILLS, pause=(0.05, 0.4))
        assert mid_drain >= 3, f"only {mid_drain} of {kills} kills landed while emails were pending"
        stderr = drain(tmp_path, db)
        messages = smtp.messages
        with db.unit_of_work(read_only=True) as uow:
            statuses = Counter(uow.outbox.get(a.id).status for a in actions)
        engine.dispose()
    assert statuses == {ActionStatus.SENT: ACTIONS}, stderr.decode()[-2000:]
    received_ids = Counter(m.message_id for m in messages)
    expected = {f"<{a.idempotency_key}@shop.example>" for a in actions}
    assert set(received_ids) == expected, "an email was lost, or one arrived that no action asked for"
    duplicates = sum(count - 1 for count in received_ids.values())
    assert duplicates <= kills, f"{duplicates} emails arrived twice after {kills} kills (at most one a kill)"
