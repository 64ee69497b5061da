"""A reconciliation outage reaches a person, and ``opsdesk check`` sees it at once (ADR 0048).

Before: sweeps failing for hours opened no case (only a readiness control failed, for whoever ran ``check``);
``check`` passed until the worker's first failed sweep even when a shop had no Admin API token; and
``opsdesk reconcile`` run by hand neither recorded its outcome nor waited on anything but ``time.sleep``.
The real composition root, the real Shopify connector and the Shopify stand-in over HTTP on 127.0.0.1 (it answers
401 to a revoked token and 500 when told to), the worker's own step ``Desk.reconcile_due`` on a manual clock; the
commands as a user runs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from opsdesk import app as composition
from opsdesk import cli_reconcile
from opsdesk.cli import cli
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import database  # noqa: F401 (the fixture: SQLite and PostgreSQL)
from tests.integration.test_cli import opsdesk
from tests.integration.test_reconcile_readiness import control as webhooks_reconciled
from tests.samples import SECRET, SHOP

TOKEN = "shpat_reconcile"
VARIABLE = "RECON_TOKEN"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as server:
        yield server


def configure(folder: Path, fake: FakeShopifyAdmin, **overrides: Any) -> Path:
    (folder / "playbooks").mkdir(parents=True, exist_ok=True)  # none: the sweep decides nothing here
    config = {"shops": [{"domain": SHOP, "admin_url": fake.url_for(SHOP), "access_token_env": VARIABLE}],
              "playbooks": "playbooks", **overrides}
    (folder / "opsdesk.yaml").write_text(yaml.safe_dump(config))
    return folder / "opsdesk.yaml"


class Sleeper:
    """The desk's sleeper in a test: moves the manual clock and says how long was waited."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.waits = clock, list[float]()

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds=seconds)


def outage_cases(desk: Desk) -> list[tuple[Case, list[str]]]:
    """The shop's outage cases, ended ones too, oldest first, with their timeline's notes."""
    with desk.db.unit_of_work(read_only=True) as uow:
        found = uow.cases.search(CaseFilter(kind="incident", shop=SHOP, active_only=False), 50)
        return [(c, [ch.note or "" for ch in uow.cases.timeline(c.id)])
                for c in sorted(found, key=lambda c: c.opened_at) if c.source == "monitor:reconcile"]


def test_sweeps_failing_half_an_hour_open_one_case_and_the_first_that_finishes_settles_it(
    tmp_path: Path, fake: FakeShopifyAdmin, database: Callable[[str], str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(T0)
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    desk = composition.build(load_settings(str(configure(tmp_path, fake)), database("outage")), clock=clock)
    reconciler = desk.reconciler()
    assert reconciler is not None
    reconciler.sleep = Sleeper(clock)  # the 500s' retries wait on the manual clock
    monkeypatch.setenv(VARIABLE, TOKEN)
    # A refusal that is not of the credentials (a revoked token's 401 opens the credentials case instead: ADR 0067,
    # amended; test_credentials_refused_grant): the app lacks a scope the orders query needs.
    fake.chaos(1.0, ["403-scope"])
    for minute in range(30):  # the worker retries each minute while the sweep fails
        [report] = desk.reconcile_due(reconciler)
        assert not report.ok and "HTTP 403" in (report.error or ""), report.error
        assert outage_cases(desk) == [], f"a case after {minute} minutes"
        clock.advance(minutes=1)
    for _ in range(3):  # at 30 minutes the case opens; the retries after it open no other
        desk.reconcile_due(reconciler)
        clock.advance(minutes=1)
    [(case, notes)] = outage_cases(desk)
    assert (case.kind, case.queue, case.priority, case.status, case.owner, case.shop) == (
        "incident", "incidents", "high", CaseStatus.OPEN, "team:ops", SHOP)  # the default team: no queues here
    assert case.reason.startswith(f"every sweep since {T0.isoformat()} (30 minutes) failed: ")
    assert "HTTP 403" in case.reason and SHOP in case.title

    fake.chaos(0.0)  # a person grants the app the scope
    [report] = desk.reconcile_due(reconciler)
    assert report.ok, report.error
    [(case, notes)] = outage_cases(desk)
    assert case.status is CaseStatus.RESOLVED and case.resolution == "no_action"
    assert any(f"a sweep of {SHOP} finished again" in note for note in notes), notes

    fake.chaos(1.0, ["500"])  # a second outage, of another cause, is a case of its own
    for _ in range(15 + 32):  # the sweep that finished moved the mark: the next is due a period later
        clock.advance(minutes=1)
        desk.reconcile_due(reconciler)
    cases = outage_cases(desk)
    assert [c.status for c, _ in cases].count(CaseStatus.RESOLVED) == 1 and len(cases) == 2
    [again] = [c for c, _ in cases if c.status.active]
    assert "HTTP 500" in again.reason and again.detail["first_error"].endswith("HTTP 500")


def test_the_reconcile_command_records_its_sweep_as_the_worker_does_and_check_reflects_it(
    tmp_path: Path, fake: FakeShopifyAdmin,
) -> None:
    configure(tmp_path, fake)
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    refused = opsdesk("reconcile", "--format", "json", *where, cwd=tmp_path, env={VARIABLE: "shpat_revoked"})
    assert refused.returncode == 1, refused.stderr
    control = webhooks_reconciled(tmp_path, {VARIABLE: "shpat_revoked"})
    assert control["status"] == "fail" and "HTTP 401" in control["offending"][0]["detail"], control

    done = opsdesk("reconcile", "--format", "json", *where, cwd=tmp_path, env={VARIABLE: TOKEN})
    assert done.returncode == 0, done.stderr
    assert webhooks_reconciled(tmp_path, {VARIABLE: TOKEN})["status"] == "pass"


def test_the_reconcile_command_waits_on_the_desks_sleeper_not_the_wall_clock(
    tmp_path: Path, fake: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, clock = configure(tmp_path, fake), ManualClock(T0)
    url = f"sqlite:///{tmp_path}/opsdesk.db"
    sleeper = Sleeper(clock)
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    desk = composition.build(load_settings(str(config), url), clock=clock, sleep=sleeper)
    monkeypatch.setattr(cli_reconcile, "desk_for", lambda _config, _url: desk)
    monkeypatch.setenv(VARIABLE, TOKEN)
    fake.chaos(1.0, ["500"])
    failed = CliRunner().invoke(cli, ["reconcile", "--format", "json"])
    assert failed.exit_code == 1, failed.output
    assert sleeper.waits == [1.0, 2.0] and clock.now() == T0 + timedelta(seconds=3)  # each retry's wait
    assert "HTTP 500" in json.loads(failed.stdout)["shops"][0]["error"]


def test_check_fails_at_once_for_a_shop_whose_admin_api_credentials_are_unset(
    tmp_path: Path, fake: FakeShopifyAdmin,
) -> None:
    configure(tmp_path, fake)  # no sweep has run, and --no-probe: nothing is asked of Shopify
    unset = webhooks_reconciled(tmp_path, {VARIABLE: ""})
    assert unset["status"] == "fail", unset
    assert unset["offending"] == [{"kind": "shop", "id": SHOP,
                                   "detail": f"sweeps cannot run: {VARIABLE} not set (no Admin API access token)"}]
    assert webhooks_reconciled(tmp_path, {VARIABLE: TOKEN})["status"] == "pass"
    assert fake.calls == []

    config = {"shops": [{"domain": SHOP, "client_id_env": "RECON_CLIENT_ID"}], "playbooks": "playbooks"}
    (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(config))
    grant = webhooks_reconciled(tmp_path, {"RECON_CLIENT_ID": "", "OPSDESK_SHOPIFY_SECRET": SECRET})
    assert grant["offending"][0]["detail"] == "sweeps cannot run: RECON_CLIENT_ID not set (no Admin API access token)"
    off = {**config, "reconcile": {"enabled": False}}
    (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(off))
    assert webhooks_reconciled(tmp_path, {"RECON_CLIENT_ID": ""})["status"] == "pass"


def test_an_outage_case_sent_to_a_queue_nobody_configured_is_named_by_policy_check(
    tmp_path: Path, fake: FakeShopifyAdmin,
) -> None:
    configure(tmp_path, fake, queues={"incidents": {"team": "ops"}}, teams={"ops": {"members": []}},
              reconcile={"outage": {"queue": "incidentz"}})
    result = opsdesk("policy", "check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    [problem] = [p for p in json.loads(result.stdout)["problems"] if p["at"].startswith("reconcile.outage")]
    assert problem["at"] == "reconcile.outage.queue" and problem["line"] is not None, problem
    assert problem["problem"].startswith("queue 'incidentz' is not under queues"), problem
