"""A playbook rule escalating to a queue missing from ``queues:`` (a typo: ``refundz``) is named before its first case,
and a case that lands there all the same has a deadline (ADR 0046).

Before, the rule passed ``opsdesk policy check`` and ``opsdesk check``, the worker started without a word, and its
cases went to the default team with no SLA clocks: "every exception becomes a case with an owner and an SLA deadline"
broke silently. Real processes on a starter config (``opsdesk init``), and a desk on a SQLite file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import ORG
from tests.integration.desk_harness import make_desk
from tests.integration.test_cli import init, opsdesk
from tests.pipeline_harness import STARTER
from tests.samples import SECRET, order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
RULE = "playbook refunds, rule refund-request-needs-a-person"


def worker_start_log(cwd: Path) -> str:
    """What ``opsdesk worker`` in ``cwd`` says on stderr up to "worker running" (it started), then stopped by SIGINT;
    fails the test if it never says it runs."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "opsdesk", "worker"],
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET},
    )
    try:
        assert worker.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("worker running" in line for line in lines):
            lines.append(worker.stderr.readline())
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stderr.close()
    logged = "".join(lines)  # the warnings come before the worker says it runs
    assert any("worker running" in line for line in lines), logged
    return logged


def _misroute(playbooks: Path) -> None:
    refunds = playbooks / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("queue: refunds", "queue: refundz"))


def test_policy_check_names_each_rule_escalating_to_a_queue_missing_from_the_config(tmp_path: Path) -> None:
    init(tmp_path)
    assert opsdesk("policy", "check", cwd=tmp_path).returncode == 0
    _misroute(tmp_path / "playbooks")
    result = opsdesk("policy", "check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = json.loads(result.stdout)["problems"]
    refunds = (tmp_path / "playbooks" / "refunds.yaml").resolve()
    rows = refunds.read_text().splitlines()
    written = [(n, row.index("refundz") + 1) for n, row in enumerate(rows, 1) if "queue: refundz" in row]
    # Each where it is written (the default and two rules), as opsdesk check's problems (ADR 0060, session 15).
    assert [(p["file"], p["line"], p["column"], p["at"]) for p in problems] == [
        (str(refunds), line, column, at) for (line, column), at in
        zip(written, ["escalate.queue", "rules.0.escalate.queue", "rules.3.escalate.queue"], strict=True)]
    assert all(p["problem"].startswith("queue 'refundz' is not under queues") for p in problems), problems
    text = opsdesk("policy", "check", cwd=tmp_path)
    assert f"{refunds}:{written[0][0]}:{written[0][1]}: escalate.queue: queue 'refundz'" in text.stderr, text.stderr


def test_the_readiness_check_fails_on_it_naming_the_rule(tmp_path: Path) -> None:
    init(tmp_path)
    _misroute(tmp_path / "playbooks")
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    [owned] = [c for c in json.loads(result.stdout)["controls"] if c["control"] == "automations-owned"]
    assert owned["status"] == "fail", owned
    rules = {o["id"]: o["detail"] for o in owned["offending"] if o["kind"] == "rule"}
    assert "queue 'refundz' is not under queues" in rules[RULE]


def test_a_monitor_set_to_a_queue_missing_from_the_config_is_named_too(tmp_path: Path) -> None:
    """The monitors, the discount guard and the warehouses open cases in the queue their settings name: a typo there
    reaches nobody in time either (ADR 0046)."""
    init(tmp_path)
    config = tmp_path / "opsdesk.yaml"
    config.write_text(config.read_text() + "\nmonitors:\n  email_health: {queue: incidentz}\n")
    checked = opsdesk("policy", "check", "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    problems = json.loads(checked.stdout)["problems"]
    [problem] = problems
    line = len(config.read_text().splitlines())
    assert {**problem, "problem": problem["problem"][:37]} == {
        "file": str(config.resolve()), "line": line, "column": 25, "at": "monitors.email_health.queue",
        "problem": "queue 'incidentz' is not under queues"}, problems
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    [owned] = [c for c in json.loads(result.stdout)["controls"] if c["control"] == "automations-owned"]
    assert owned["status"] == "fail", owned
    settings = {o["id"]: o["detail"] for o in owned["offending"] if o["kind"] == "setting"}
    assert "queue 'incidentz' is not under queues" in settings["monitors.email_health"], owned
    config.write_text(config.read_text().replace("incidentz", "incidents"))
    assert opsdesk("policy", "check", cwd=tmp_path).returncode == 0


def test_the_worker_starts_all_the_same_and_says_so(tmp_path: Path) -> None:
    """Refusing to start over a typo would lose webhooks: the worker runs, with a warning naming the rule."""
    init(tmp_path)
    _misroute(tmp_path / "playbooks")
    logged = worker_start_log(tmp_path)
    assert RULE in logged and "automations-owned" in logged, logged


def test_a_case_in_an_unknown_queue_gets_the_default_deadline_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    shutil.copyfile(STARTER / "refunds.yaml", playbooks / "refunds.yaml")
    _misroute(playbooks)
    desk = make_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), **{**ORG, "playbooks": str(playbooks)})
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:
            assert client.post(
                "/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]
            ).is_success
    desk.process_pending()
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(status=tuple(s.value for s in CaseStatus)), 10)
        [opened] = [c for c in uow.cases.timeline(case.id) if c.kind == "opened"]
    assert (case.queue, case.priority, case.owner) == ("refundz", "normal", "team:ops")
    assert case.due_at is not None and case.due_at > NOW  # 24 hours around the clock, by default
    assert case.detail["sla"]["policy"] == "default"
    assert "queue 'refundz' is not under queues" in opened.note
