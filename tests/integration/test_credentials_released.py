"""Actions held for a shop's refused credentials go at once when the credentials work again (ADR 0067, amended in
session 15), whoever finds out: a reconciliation sweep that reads, or the outbox's probe. Their attempts are not spent.

The real composition root, outbox sender, sweep and Shopify connector; the Shopify stand-in over HTTP on 127.0.0.1
(it answers a token it does not know with 401, as Shopify does); SQLite and PostgreSQL; a manual clock.
"""

from __future__ import annotations

import pytest

from opsdesk.desk import Desk
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.outbox import ActionStatus
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.test_credentials_refused import (  # noqa: F401 (the fixtures: the stand-in, the desk)
    ACTIONS,
    TOKEN,
    VARIABLE,
    actions,
    desk,
    drain,
    fake,
    incidents,
    queue_tags,
)
from tests.integration.test_credentials_refused_grant import sweep
from tests.integration.test_reconcile import database  # noqa: F401 (the fixture: SQLite and PostgreSQL)


def test_a_sweep_that_reads_again_sends_the_held_actions_at_once_with_their_attempts_unspent(
    desk: Desk, fake: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    queued = queue_tags(desk, ACTIONS)
    monkeypatch.setenv(VARIABLE, "shpat_revoked")
    sender = desk.sender(worker="worker-1")
    drain(sender)  # the outbox's call is refused: the shop is marked, its actions held
    for _ in range(10):  # ten minutes refused: the probes are five minutes apart by now
        clock.advance(seconds=60)
        sweep(desk)
        drain(sender)
    assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.PENDING, 0)}
    assert min(a.next_attempt_at for a in actions(desk, queued)) > clock.now()

    monkeypatch.setenv(VARIABLE, TOKEN)  # a working token in place: the next sweep reads
    clock.advance(seconds=60)
    sweep(desk)
    [case] = incidents(desk)
    assert case.status is CaseStatus.RESOLVED
    drain(sender)  # no time passes

    assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.SENT, 1)}
    assert sum(c.status == 200 for c in fake.calls) >= ACTIONS
