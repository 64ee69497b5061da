"""A rule's case names its queue and priority: the longest the loader takes is stored on PostgreSQL, which
refuses a value longer than its column (``cases.queue`` holds 64 characters, ``cases.priority`` 16); a longer
one stops `opsdesk policy check` and the start-up, named where it is written, instead of failing each case
the rule opens (a failed delivery, ADR 0030).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.errors import InvalidPolicy
from opsdesk.testing import ManualClock
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import STARTER, feed
from tests.samples import order_lifecycle

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ESCALATE = "{queue: refunds, priority: normal, sla: 24 business hours}"


def starter_escalating_to(directory: Path, queue: str, priority: str) -> Path:
    """The starter playbooks, the refunds playbook's cases (its default's and its rules') sent to ``queue`` at
    ``priority``."""
    playbooks = directory / "playbooks"
    shutil.copytree(STARTER, playbooks)
    refunds = playbooks / "refunds.yaml"
    text = refunds.read_text()
    assert text.count(ESCALATE) == 3
    refunds.write_text(
        text.replace(ESCALATE, f"{{queue: {queue}, priority: {priority}, sla: 24 business hours}}")
    )
    return playbooks


@pytest.mark.postgres
def test_a_case_in_the_longest_queue_at_the_longest_priority_is_stored_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    queue, priority = "refunds-" + "q" * 56, "p" * 16
    playbooks = starter_escalating_to(tmp_path, queue, priority)
    clock = ManualClock(NOW)
    desk = make_desk(tmp_path, monkeypatch, database_url=pg_url, clock=clock, playbooks=str(playbooks))

    feed(desk.db, order_lifecycle(1, price="80.00", base=NOW)[:6], clock)  # over the per-action cap of 50
    report = desk.process_pending()

    assert (report.failed, report.escalated) == (0, 1)
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = [c for c in uow.cases.list_open() if c.queue == queue]
    assert (len(case.queue), case.priority) == (64, priority)


#: Where the refunds playbook escalates: its default (line 9) and two rules (indented by 4).
WRITTEN = [(9, 0), (23, 4), (35, 4)]


@pytest.mark.parametrize(
    ("queue", "priority", "problem"),
    [
        ("q" * 65, "normal", "'queue' is 65 characters long; at most 64 are stored with each case"),
        (
            "refunds",
            "p" * 17,
            "'priority' is 17 characters long; at most 16 are stored with each case",
        ),
    ],
    ids=["queue", "priority"],
)
def test_a_case_name_a_case_cannot_store_fails_the_check_and_the_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, queue: str, priority: str, problem: str
) -> None:
    playbooks = starter_escalating_to(tmp_path, queue, priority)
    column = 19 if queue != "refunds" else 38  # where the queue or the priority is written
    where = [f"{playbooks / 'refunds.yaml'}:{line}:{column + indent}: {problem}" for line, indent in WRITTEN]

    checked = CliRunner().invoke(cli, ["policy", "check", str(playbooks), "--format", "json"])
    assert checked.exit_code == 1, checked.output
    problems = json.loads(checked.output)["problems"]
    assert [f"{p['file']}:{p['line']}:{p['column']}: {p['problem']}" for p in problems] == where
    with pytest.raises(InvalidPolicy) as refused:
        make_desk(tmp_path, monkeypatch, playbooks=str(playbooks))
    assert all(w in str(refused.value) for w in where)
