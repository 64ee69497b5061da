"""A case a colleague holds: the server refuses the work its page hides (ADR 0039), whichever way it is asked.

alice claims the one case of the dashboard desk (tests/integration/dashboard_harness.py: alice and bob agents,
carol their lead). bob, through the JSON API, the dashboard's forms or the CLI, cannot start, put on hold,
resume, resolve or close it, nor take it by assigning it to himself: each is refused naming alice, and the case
is left as it was. alice can; carol (a lead) can reassign it; bob can still comment, and reopen it once ended;
the desk's automation keeps its rights. On a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.desk import Desk
from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import CaseFilter
from opsdesk.services import tokens, users
from opsdesk.services.cases import add_news, settle
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import PASSWORD, csrf_of, dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.samples import SECRET, order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HOLDERS_WORK = [("start", {}), ("wait", {"on": "customer"}), ("resolve", {"resolution": "no_action"})]


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), database_url=postgres)


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    """A return over the refund cap: one case in ``refunds``; alice claims it."""
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:
            assert (
                client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code
                == 200
            )
        desk.process_pending()
        claimed = api(client, the_case(desk)["id"], "claim", bearer(desk, "alice", "agent"))
        assert (claimed.status_code, claimed.json()["owner"]) == (200, "alice")
        yield client


def api(client: TestClient, case_id: str, action: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/{action}", json=body or None, headers=headers)


def the_case(desk: Desk) -> dict[str, Any]:
    """The case as stored, with its timeline's kinds and the order's outbox actions: what a refusal must not touch."""
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(status=tuple(s.value for s in CaseStatus)), 10)
        timeline = [c.kind for c in uow.cases.timeline(case.id)]
        sent = [a.kind for a in uow.outbox.for_order(case.shop, case.order_id)] if case.order_id else []
    return {
        "id": case.id,
        "key": case.key,
        "owner": case.owner,
        "status": case.status.value,
        "version": case.version,
        "timeline": timeline,
        "actions": sent,
    }


def page_post(client: TestClient, path: str, **form: str) -> Any:
    token = csrf_of(client.get("/queue").text)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)


@pytest.mark.parametrize(("action", "body"), [*HOLDERS_WORK, ("assign", {"owner": "bob"})])
def test_the_api_refuses_a_colleagues_case_with_409_naming_the_holder_and_changes_nothing(
    client: TestClient, desk: Desk, action: str, body: dict[str, str]
) -> None:
    before = the_case(desk)
    refused = api(client, before["id"], action, bearer(desk, "bob", "agent"), **body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["holder"] == "alice"
    assert refused.json()["error"].startswith(f"case {before['key']} is held by alice: only ")
    assert the_case(desk) == before


def test_the_api_refuses_resume_and_close_to_a_colleague_too(client: TestClient, desk: Desk) -> None:
    case_id, alice, bob = the_case(desk)["id"], bearer(desk, "alice", "agent"), bearer(desk, "bob", "agent")
    assert api(client, case_id, "wait", alice, on="customer").status_code == 200
    before = the_case(desk)
    assert api(client, case_id, "resume", bob).json() == {
        "error": f"case {before['key']} is held by alice: only alice can resume it; a lead can reassign it",
        "holder": "alice",
    }
    assert api(client, case_id, "resolve", alice, resolution="no_action").status_code == 200
    ended = the_case(desk)
    assert (api(client, case_id, "close", bob).status_code, the_case(desk)) == (409, ended)


def test_the_holder_works_it_a_colleague_comments_and_reopens_and_a_lead_reassigns(
    client: TestClient, desk: Desk
) -> None:
    case_id = the_case(desk)["id"]
    alice, bob, carol = (
        bearer(desk, n, r) for n, r in (("alice", "agent"), ("bob", "agent"), ("carol", "lead"))
    )
    for action, body in [("start", {}), ("wait", {"on": "customer"}), ("resume", {})]:
        assert api(client, case_id, action, alice, **body).status_code == 200, action
    assert api(client, case_id, "comment", bob, note="the customer rang me").status_code == 200
    assert api(client, case_id, "resolve", alice, resolution="no_action").status_code == 200
    reopened = api(client, case_id, "reopen", bob, note="they wrote again")
    assert (reopened.status_code, reopened.json()["owner"], reopened.json()["status"]) == (
        200,
        "alice",
        "assigned",
    )
    moved = api(client, case_id, "assign", carol, owner="bob", note="alice is away")
    assert (moved.status_code, moved.json()["owner"]) == (200, "bob")
    assert api(client, case_id, "start", bob).status_code == 200  # his now
    assert api(client, case_id, "start", alice).status_code == 409
    handed_back = api(client, case_id, "assign", carol, owner="team:support")
    assert (handed_back.status_code, handed_back.json()["owner"]) == (200, "team:support")


def test_the_dashboards_forms_refuse_a_colleagues_case_with_the_reason_on_the_page(
    client: TestClient, desk: Desk
) -> None:
    before = the_case(desk)
    sign_in(client, "bob")
    started = page_post(client, f"/cases/{before['id']}/act/start")
    assert started.status_code == 409
    assert (
        f"case {before['key']} is held by alice: only alice can start it; a lead can reassign it"
        in started.text
    )
    resolved = page_post(
        client, f"/cases/{before['id']}/resolve", resolution="approve_refund", confirmed="yes"
    )
    assert (resolved.status_code, "only alice can resolve it" in resolved.text) == (409, True)
    taken = page_post(client, f"/cases/{before['id']}/act/assign", owner="bob")
    assert (taken.status_code, "only a lead can reassign it" in taken.text) == (409, True)
    assert the_case(desk) == before

    client.cookies.clear()
    sign_in(client, "carol")
    assert page_post(client, f"/cases/{before['id']}/act/assign", owner="bob").status_code == 303
    assert the_case(desk)["owner"] == "bob"


def cli_args(desk: Desk, tmp_path: Path, *args: str) -> list[str]:
    return [
        "cases",
        *args,
        "--config",
        str(tmp_path / "opsdesk.yaml"),
        "--database-url",
        desk.settings.database_url,
    ]


def test_the_cli_refuses_a_colleagues_case_with_exit_1_naming_the_holder(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    before = the_case(desk)
    result = subprocess.run(
        [sys.executable, "-m", "opsdesk", *cli_args(desk, tmp_path, "start", before["key"], "--as", "bob")],
        env={**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    message = f"case {before['key']} is held by alice: only alice can start it; a lead can reassign it"
    assert message in " ".join(result.stderr.split())
    assert the_case(desk) == before


@pytest.mark.parametrize("action", ["start", "claim"])
def test_the_cli_refuses_a_colleagues_case_in_json_as_the_api_does_with_its_holder(
    client: TestClient, desk: Desk, tmp_path: Path, action: str
) -> None:
    """ADR 0060: a script asking for JSON reads the refusal as the API's 409 body, with the exit code."""
    before = the_case(desk)
    result = subprocess.run(
        [sys.executable, "-m", "opsdesk",
         *cli_args(desk, tmp_path, action, before["key"], "--as", "bob", "--format", "json")],
        env={**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    refused = api(client, before["id"], action, bearer(desk, "bob", "agent"))
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert json.loads(result.stderr) == {**refused.json(), "exit_code": 1}
    assert json.loads(result.stderr)["holder"] == "alice"
    assert the_case(desk) == before


def test_the_cli_lets_the_holder_work_and_a_lead_reassign(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    key = the_case(desk)["key"]

    def run(*args: str) -> Any:
        result = CliRunner().invoke(cli, cli_args(desk, tmp_path, *args, "--format", "json"))
        return result.exception or json.loads(result.output)

    assert run("start", key, "--as", "alice")["status"] == "in_progress"
    assert str(run("resolve", key, "no_action", "--as", "bob")).startswith(
        f"case {key} is held by alice: only "
    )
    assert str(run("assign", key, "bob", "--as", "bob")).endswith(
        "only a lead can reassign it"
    )  # bob is an agent
    assert run("assign", key, "bob", "--as", "carol")["owner"] == "bob"  # carol's account is a lead's
    assert run("resolve", key, "no_action", "--as", "bob")["status"] == "resolved"


def test_automation_keeps_its_rights_on_a_case_a_person_holds(client: TestClient, desk: Desk) -> None:
    """The desk resolves a case nobody started once its exception went away, and resumes a waiting one the
    customer answered, though alice holds it: its rules and timers are not a colleague (the return timer's
    reassignment is tests/integration/test_case_handback.py's)."""
    case_id, alice = the_case(desk)["id"], bearer(desk, "alice", "agent")
    with desk.db.unit_of_work() as uow:
        assert settle(uow, case_id, "the order shipped", desk.clock.now(), desk.case_hooks)
        uow.commit()
    settled = the_case(desk)
    assert (settled["owner"], settled["status"], settled["timeline"][-1]) == ("alice", "resolved", "resolved")

    for action, body in [("reopen", {}), ("wait", {"on": "customer"})]:
        assert api(client, case_id, action, alice, **body).status_code == 200, action
    with desk.db.unit_of_work() as uow:
        assert add_news(uow, case_id, "email", "the customer sent photos", desk.clock.now(), desk.case_hooks)
        uow.commit()
    resumed = the_case(desk)
    assert (resumed["owner"], resumed["status"], resumed["timeline"][-1]) == (
        "alice",
        "in_progress",
        "resumed",
    )


def test_nobody_acts_under_the_desks_own_name(client: TestClient, desk: Desk, tmp_path: Path) -> None:
    """automation keeps its rights by its name: no token, account or --as may take it."""
    before = the_case(desk)
    with (
        desk.db.unit_of_work() as uow,
        pytest.raises(InvalidInput, match="'automation' is the name the desk"),
    ):
        tokens.create_token(uow, "automation", "agent", desk.clock.now())
    for username, person in (("automation", None), ("mallory", "automation")):
        with desk.db.unit_of_work() as uow, pytest.raises(InvalidInput, match="a person cannot act under it"):
            users.add_user(uow, username, PASSWORD, "M", {"*": "agent"}, person, now=desk.clock.now())
    result = CliRunner().invoke(
        cli, cli_args(desk, tmp_path, "resolve", before["key"], "no_action", "--as", "automation")
    )
    assert isinstance(result.exception, InvalidInput) and the_case(desk) == before
