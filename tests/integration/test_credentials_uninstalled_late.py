"""A late ``app/uninstalled`` (Shopify retries a delivery for hours) triggered before the desk last found the shop's
credentials working does not mark them refused; the audit says why (ADR 0067, amended in session 15). What the desk
knows durably of a success: the credentials recorded working again after a refusal (the ``credentials:shopify``
probe), and the start of the last reconciliation sweep that finished (the reconciliation mark, ADR 0015).

The real composition root, outbox sender, sweep and Shopify connector; the Shopify stand-in over HTTP on 127.0.0.1;
signed deliveries through the intake `opsdesk ingest` uses; SQLite and PostgreSQL; a manual clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from opsdesk.desk import Desk
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.outbox import ActionStatus
from opsdesk.storage import tables as t
from opsdesk.testing import ManualClock
from tests.integration.test_credentials_refused import (  # noqa: F401 (the fixtures: the stand-in, the desk)
    T0,
    TOKEN,
    VARIABLE,
    actions,
    control,
    desk,
    drain,
    fake,
    incidents,
    queue_tags,
)
from tests.integration.test_credentials_refused_grant import sweep
from tests.integration.test_reconcile import database  # noqa: F401 (the fixture: SQLite and PostgreSQL)
from tests.pipeline_harness import feed
from tests.samples import SHOP, delivery, sample


def uninstalled(to: Desk, triggered_at: datetime, webhook_id: str) -> None:
    """Shopify delivers ``app/uninstalled`` now, as it was triggered at ``triggered_at``."""
    sent = delivery("app/uninstalled", sample("app/uninstalled"), webhook_id, triggered_at=triggered_at)
    feed(to.db, [sent], ManualClock(to.clock.now()))
    to.process_pending()


def audited(of: Desk) -> list[dict[str, object]]:
    """The audit entries of the uninstalls not acted on."""
    with of.db.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(t.audit.c.subject, t.audit.c.after)
                            .where(t.audit.c.action == "credentials.uninstall_ignored")).all()
    return [{"subject": subject, **json.loads(after)} for subject, after in rows]


def test_an_uninstall_triggered_before_the_credentials_worked_again_marks_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    monkeypatch.setenv(VARIABLE, "shpat_revoked")  # the app uninstalled: Shopify answers 401
    queued = queue_tags(desk, 2)
    sender = desk.sender(worker="worker-1")
    drain(sender)
    assert incidents(desk)[0].status is CaseStatus.OPEN
    monkeypatch.setenv(VARIABLE, TOKEN)  # installed again: the next probe goes and records the credentials working
    clock.advance(seconds=31)
    drain(sender)
    assert {a.status for a in actions(desk, queued)} == {ActionStatus.SENT}

    clock.advance(hours=3)  # Shopify's retry of the uninstall's delivery, triggered before the reinstall
    uninstalled(desk, T0 - timedelta(seconds=5), "w-late")

    [case] = incidents(desk)  # the first refusal's, settled: no second case
    assert case.status is CaseStatus.RESOLVED
    assert control(desk)["status"] == "pass"
    [why] = audited(desk)
    assert why == {"subject": f"shop:{SHOP}", "provider": "shopify", "triggered_at": (T0 - timedelta(seconds=5))
                   .isoformat(), "worked_at": (T0 + timedelta(seconds=31)).isoformat(),
                   "evidence": "credentials recorded working"}
    more = queue_tags(desk, 1)
    drain(sender)  # not held
    assert [a.status for a in actions(desk, more)] == [ActionStatus.SENT]


def test_an_uninstall_triggered_before_the_last_finished_sweep_marks_nothing_and_a_later_one_marks(
    desk: Desk, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    monkeypatch.setenv(VARIABLE, TOKEN)
    sweep(desk)  # reads the shop with its token: the mark is the sweep's start, T0
    clock.advance(hours=2)
    uninstalled(desk, T0 - timedelta(minutes=1), "w-before-the-sweep")
    assert incidents(desk) == [] and control(desk)["status"] == "pass"
    assert [w["evidence"] for w in audited(desk)] == ["the last reconciliation sweep that finished"]

    uninstalled(desk, T0 + timedelta(minutes=1), "w-after-the-sweep")  # after the desk's last known success
    [case] = incidents(desk)
    assert case.status is CaseStatus.OPEN and "app was uninstalled" in case.reason, case.reason
    assert control(desk)["status"] == "fail"
