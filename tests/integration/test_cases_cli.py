"""``opsdesk cases ...`` on a desk with real escalated cases: tables for people, JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.desk import Desk
from opsdesk.services import users
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed
from tests.samples import SECRET, order_lifecycle

ORDER = 5_000_000_000_000_000_001


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(tmp_path, monkeypatch)
    feed(desk.db, [d for n in (1, 2) for d in order_lifecycle(n, reason="OTHER")[:6]], desk.clock)  # type: ignore[arg-type]
    desk.process_pending()
    return desk


def run(tmp_path: Path, *args: str) -> Any:
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    result = CliRunner().invoke(cli, ["cases", *args, *where], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def listed(tmp_path: Path, *args: str) -> dict[str, Any]:
    return json.loads(run(tmp_path, "list", "--format", "json", *args).output)


def case_id(tmp_path: Path) -> str:
    return next(c["id"] for c in listed(tmp_path)["cases"] if c["order_id"] == ORDER)


def test_list_prints_the_queue_as_a_table_and_as_json_with_filters(desk, tmp_path) -> None:
    table = run(tmp_path, "list").output
    assert "cases 1-2 of 2" in table
    assert table.count("refunds") >= 2 and "team:ops" in table
    assert listed(tmp_path, "--queue", "refunds", "--owner", "team:ops")["total"] == 2
    assert listed(tmp_path, "--status", "resolved")["total"] == 0
    assert listed(tmp_path, "--due-before", "2020-01-01T00:00:00")["total"] == 0
    assert listed(tmp_path, "--limit", "1")["cases"][0]["queue"] == "refunds"


def test_show_tells_the_story_of_a_case(desk, tmp_path) -> None:
    cid = case_id(tmp_path)
    text = run(tmp_path, "show", cid).output
    key = next(c["key"] for c in listed(tmp_path)["cases"] if c["id"] == cid)
    assert text.splitlines()[0] == f"case {key} ({cid})"
    assert "timeline" in text and "refund-request-needs-a-person" in text
    view = json.loads(run(tmp_path, "show", cid, "--format", "json").output)
    assert [e["kind"] for e in view["timeline"]] == ["opened"]
    # every time in the API's one form (ADR 0059): UTC, ending Z
    assert view["timeline"][0]["at"].endswith("Z") and view["case"]["opened_at"].endswith("Z")


def test_claim_comment_wait_resolve_and_reopen_as_a_person(desk, tmp_path) -> None:
    cid = case_id(tmp_path)
    assert "owner ada" in run(tmp_path, "claim", cid, "--as", "ada").output
    run(tmp_path, "comment", cid, "asked for photos", "--as", "ada")
    waiting = json.loads(run(tmp_path, "wait", cid, "--on", "customer", "--as", "ada", "--format", "json").output)
    assert waiting["status"] == "waiting_customer"
    run(tmp_path, "resume", cid, "--as", "ada")
    resolved = run(tmp_path, "resolve", cid, "approve_refund", "--as", "ada", "--note", "damage confirmed",
                   "--format", "json")
    assert json.loads(resolved.output)["resolution"] == "approve_refund"
    assert json.loads(run(tmp_path, "reopen", cid, "--as", "ada", "--format", "json").output)["status"] == "assigned"
    with desk.db.unit_of_work() as uow:  # ada's case goes back to the team by a lead (ADR 0039): lin's account is one
        users.add_user(uow, "lin", "correct horse battery staple", "Lin", {"*": "lead"}, now=desk.clock.now())
        uow.commit()
    assert json.loads(run(tmp_path, "assign", cid, "team:ops", "--as", "lin", "--format", "json").output)[
        "owner"] == "team:ops"

    with desk.db.unit_of_work() as uow:
        actions = uow.outbox.for_order(desk.settings.file.shops[0].domain, ORDER)
    assert sorted(a.kind for a in actions) == ["email", "refund"]


def test_a_claim_on_someone_elses_case_exits_1_as_the_other_refusals_naming_them(desk, tmp_path) -> None:
    """ADR 0054: a case someone else holds is exit 1 whatever the command (409 in the API); exit 2 is bad input."""
    cid = case_id(tmp_path)
    run(tmp_path, "claim", cid, "--as", "ada")
    result = subprocess.run(
        [sys.executable, "-m", "opsdesk", "cases", "claim", cid, "--as", "bob", "--config",
         str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"],
        env={**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    key = next(c["key"] for c in listed(tmp_path)["cases"] if c["id"] == cid)
    assert f"case {key} is already claimed by ada" in " ".join(result.stderr.split())


def test_every_case_command_takes_the_key_as_it_takes_the_id(desk, tmp_path) -> None:
    """ADR 0029: ``C-<number>`` (in either case) names the case in ``show``, ``claim``, ``resolve``, ..."""
    cid = case_id(tmp_path)
    key = next(c["key"] for c in listed(tmp_path)["cases"] if c["id"] == cid)
    assert json.loads(run(tmp_path, "show", key, "--format", "json").output) == json.loads(
        run(tmp_path, "show", cid, "--format", "json").output)
    assert run(tmp_path, "claim", key.lower(), "--as", "ada").output.split() == [
        "claim", "case", f"{key}:", "owned,", "not", "started,", "owner", "ada"]
    resolved = json.loads(run(tmp_path, "resolve", key, "no_action", "--as", "ada", "--format", "json").output)
    assert (resolved["id"], resolved["key"], resolved["status"]) == (cid, key, "resolved")
    unknown = CliRunner().invoke(cli, ["cases", "show", "C-99", "--config", str(tmp_path / "opsdesk.yaml"),
                                       "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"])
    assert unknown.exit_code != 0 and str(unknown.exception) == "no case C-99"  # the entry point reports it


def test_the_list_pages_by_cursor_as_the_api_does(desk, tmp_path) -> None:
    """ADR 0059: ``next`` (JSON) or the line under the table is the ``--cursor`` of the page after."""
    whole = [c["key"] for c in listed(tmp_path)["cases"]]
    first = listed(tmp_path, "--limit", "1")
    assert [c["key"] for c in first["cases"]] == whole[:1] and first["next"]
    assert f"next page: --cursor {first['next']}" in run(tmp_path, "list", "--limit", "1").output
    second = listed(tmp_path, "--limit", "1", "--cursor", first["next"])
    assert ([c["key"] for c in second["cases"]], second["offset"], second["next"]) == (whole[1:], None, None)
    assert "cases: 1 after the cursor, of 2" in run(tmp_path, "list", "--limit", "1", "--cursor", first["next"]).output
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    both = CliRunner().invoke(cli, ["cases", "list", "--cursor", first["next"], "--offset", "1", *where])
    assert both.exit_code != 0 and "'cursor' and 'offset'" in str(both.exception)
