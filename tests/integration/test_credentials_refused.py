"""A revoked Shopify token or an uninstalled app is known at the first refusal, not at the next sweep (ADR 0067).

Before: every outbox action Shopify answered 401 was failed at once, a case each, and the shop's readiness control
passed until a reconciliation sweep failed. The real composition root and outbox sender, the real Shopify connector
and the Shopify stand-in over HTTP on 127.0.0.1 (it answers 401 "[API] Invalid API key or access token" to a token
it does not know), on SQLite and PostgreSQL, on a manual clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.readiness.registry import builtin_controls, check
from opsdesk.testing import ManualClock
from tests.integration._servers import outbox_action
from tests.integration.reconcile_harness import database  # noqa: F401 (the fixture: SQLite and PostgreSQL)
from tests.pipeline_harness import feed
from tests.samples import SECRET, SHOP, delivery, sample

TOKEN = "shpat_working"
VARIABLE = "CREDS_TOKEN"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ACTIONS = 20


@pytest.fixture
def fake() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as server:
        yield server


@pytest.fixture
def desk(tmp_path: Path, fake: FakeShopifyAdmin, database: Callable[[str], str],  # noqa: F811
         monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The desk on the backend under test, on a manual clock at ``T0``."""
    return build(tmp_path, fake, database("creds"), ManualClock(T0), monkeypatch)


def build(tmp_path: Path, fake: FakeShopifyAdmin, url: str, clock: ManualClock,
          monkeypatch: pytest.MonkeyPatch) -> Desk:
    (tmp_path / "playbooks").mkdir(exist_ok=True)  # none: the actions are queued by the test
    config = {"shops": [{"domain": SHOP, "admin_url": fake.url_for(SHOP), "access_token_env": VARIABLE}],
              "playbooks": "playbooks"}
    (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    return composition.build(load_settings(str(tmp_path / "opsdesk.yaml"), url), clock=clock)


def queue_tags(desk: Desk, count: int) -> list[OutboxAction]:
    actions = [outbox_action("add_tags", 1000 + n, {"tags": ["checked"]}, decision=f"tags-{n}", at=T0)
               for n in range(count)]
    with desk.db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    return actions


def drain(sender: OutboxSender) -> None:
    while sender.run_once(limit=50):
        pass


def actions(desk: Desk, queued: list[OutboxAction]) -> list[OutboxAction]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [uow.outbox.get(a.id) for a in queued]


def incidents(desk: Desk) -> list[Case]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return uow.cases.search(CaseFilter(shop=SHOP, active_only=False), 100)


def control(desk: Desk) -> dict[str, Any]:
    [webhooks_reconciled] = [c for c in builtin_controls() if c.id == "webhooks-reconciled"]
    with desk.db.unit_of_work(read_only=True) as uow:
        report = check(desk.settings, uow, desk.clock.now(), desk.playbooks, desk.org, [webhooks_reconciled])
    return report.results[0].as_dict()


def test_a_revoked_token_holds_the_shops_actions_opens_one_case_and_they_all_go_once_it_is_fixed(
    desk: Desk, fake: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    queued = queue_tags(desk, ACTIONS)
    monkeypatch.setenv(VARIABLE, "shpat_revoked")  # the stand-in answers 401, as Shopify does to a revoked token
    sender = desk.sender(worker="worker-1")
    drain(sender)

    assert len(fake.calls) == 1 and fake.calls[0].status == 401  # the first refusal: no call after it
    held = actions(desk, queued)
    assert {(a.status, a.attempts) for a in held} == {(ActionStatus.PENDING, 0)}  # none burnt, none lost
    assert all(a.next_attempt_at > T0 for a in held)
    [case] = incidents(desk)
    assert (case.kind, case.priority, case.status, case.source) == (
        "incident", "urgent", CaseStatus.OPEN, "monitor:credentials")
    assert SHOP in case.title and "Invalid API key or access token" in case.reason, (case.title, case.reason)
    result = control(desk)
    assert result["status"] == "fail", result
    assert "refuses its Admin API credentials" in result["offending"][0]["detail"], result

    for _ in range(10 * 60):  # ten minutes, a second at a time: one probe per back-off, not a call per action
        clock.advance(seconds=1)
        drain(sender)
    assert 2 <= len(fake.calls) <= 1 + 5, [c.status for c in fake.calls]  # 30 s, 60 s, 120 s, 240 s, 5 min...
    assert {(a.status, a.attempts) for a in actions(desk, queued)} == {(ActionStatus.PENDING, 0)}
    assert len(incidents(desk)) == 1

    monkeypatch.setenv(VARIABLE, TOKEN)  # a person puts a working token in the shop's variable
    for _ in range(5 * 60 + 1):  # the next probe is at most five minutes away
        clock.advance(seconds=1)
        drain(sender)
    sent = actions(desk, queued)
    assert {(a.status, a.attempts) for a in sent} == {(ActionStatus.SENT, 1)}, {(a.status, a.attempts) for a in sent}
    tagged = [e.order_id for e in fake.effects]
    assert sorted(tagged) == sorted(a.order_id for a in queued)  # each sent once
    [case] = incidents(desk)
    assert case.status is CaseStatus.RESOLVED and case.resolution == "no_action"
    assert control(desk)["status"] == "pass"


def test_a_second_worker_reads_the_mark_and_sends_nothing_before_the_probe(
    tmp_path: Path, fake: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(T0)
    desk = build(tmp_path, fake, f"sqlite:///{tmp_path}/opsdesk.db", clock, monkeypatch)
    queue_tags(desk, 3)
    monkeypatch.setenv(VARIABLE, "shpat_revoked")
    drain(desk.sender(worker="worker-1"))
    with desk.db.unit_of_work() as uow:  # decided after the refusal: due at once
        uow.outbox.add_many([outbox_action("add_tags", 2000, {"tags": ["x"]}, decision="late", at=T0)])
        uow.commit()
    other = desk.sender(worker="worker-2")  # another process: only the durable mark tells it
    drain(other)
    assert len(fake.calls) == 2  # the new action is its probe; nothing else of the shop is sent
    assert len(incidents(desk)) == 1


def test_app_uninstalled_marks_the_credentials_refused_with_the_reason(
    desk: Desk, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VARIABLE, TOKEN)
    uninstalled = delivery("app/uninstalled", sample("app/uninstalled"), "w-uninstalled", triggered_at=T0)
    feed(desk.db, [uninstalled], ManualClock(T0))  # the intake `opsdesk ingest` uses: the signature checked
    desk.process_pending()

    [case] = incidents(desk)
    assert case.kind == "incident" and "app was uninstalled" in case.reason, case.reason
    result = control(desk)
    assert result["status"] == "fail" and "app/uninstalled" in result["offending"][0]["detail"], result
    queued = queue_tags(desk, 2)
    drain(desk.sender(worker="worker-1"))  # the token still works here: the probe goes, and the rest after it
    assert {a.status for a in actions(desk, queued)} == {ActionStatus.SENT}
    assert incidents(desk)[0].status is CaseStatus.RESOLVED



def test_a_403_naming_a_missing_scope_fails_that_action_only(desk: Desk, fake: FakeShopifyAdmin,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, TOKEN)
    queued = queue_tags(desk, 3)
    fake.script("403-scope")  # "[API] This action requires merchant approval for write_orders scope."
    drain(desk.sender(worker="worker-1"))
    done = actions(desk, queued)
    [refused] = [a for a in done if a.status is ActionStatus.FAILED]  # the first sent, whichever it was
    assert "write_orders scope" in refused.last_error and refused.attempts == 1
    assert sorted(a.status.value for a in done) == ["failed", "sent", "sent"]  # the token works: nothing held
    assert [c.kind for c in incidents(desk)] == ["automation_failure"]  # the action's case, no credentials one
    assert control(desk)["status"] == "pass"
