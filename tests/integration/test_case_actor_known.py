"""Nobody takes a case under a name the desk does not know (ADR 0047).

Taken by a name that is no person under ``people:`` (an API token named after a script, a dashboard login bound to
no person, a typo in ``--as``), a case was held by nobody: no digest, no SLA warning, no queue of a person shows it.
Claiming it, starting it while nobody holds it and assigning it to yourself now need a person of the organisation:
the JSON API and the dashboard answer 400, the CLI exits 2, naming the name and the people the desk knows, and the
case is left as it was. A token or login named after a person (or bound to one) acts as that person; one bound to
nobody still reads and works what it does not take. On a SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.desk import Desk
from opsdesk.services import users
from opsdesk.testing import ManualClock
from tests.integration import test_case_owner_known as owner_known
from tests.integration.dashboard_harness import PASSWORD, csrf_of, dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.integration.test_case_holder import api, cli_args, page_post, the_case
from tests.integration.test_cli import opsdesk

KNOWN = "(people: alice, bob, carol)"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(owner_known.NOW))
    with desk.db.unit_of_work() as uow:  # an agent's login bound to no person of opsdesk.yaml
        users.add_user(uow, "temp", PASSWORD, "Temp Agent", {"*": "agent"}, None, now=owner_known.NOW)
        uow.commit()
    return desk


#: A return over the refund cap: one case in ``refunds``, with the support team (nobody holds it); on this desk.
client = owner_known.client


@pytest.mark.parametrize(("action", "body"), [("claim", {}), ("start", {}), ("assign", {"owner": "zapier"})])
def test_the_api_refuses_a_token_of_no_person_taking_a_case_naming_it_and_the_people(
    client: TestClient, desk: Desk, action: str, body: dict[str, str]
) -> None:
    before = the_case(desk)
    refused = api(client, before["id"], action, bearer(desk, "zapier", "lead"), **body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == (
        f"no person 'zapier' on the desk to {'take' if action == 'assign' else action} case {before['key']}: "
        f"a case is taken only under a person under people: in opsdesk.yaml {KNOWN}; a dashboard account acts "
        "as its --person, an API token as the person it is named after"
    )
    assert the_case(desk) == before


def test_a_token_of_no_person_still_reads_and_works_what_it_does_not_take(client: TestClient, desk: Desk) -> None:
    zapier = bearer(desk, "zapier", "lead")
    case_id = the_case(desk)["id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=zapier).status_code == 200
    commented = api(client, case_id, "comment", zapier, note="label printed")
    assert (commented.status_code, commented.json()["owner"]) == (200, "team:support")
    given = api(client, case_id, "assign", zapier, owner="bob")  # a lead's token gives it to a person
    assert (given.status_code, given.json()["owner"]) == (200, "bob")


def test_a_token_named_after_a_person_acts_as_that_person(client: TestClient, desk: Desk) -> None:
    claimed = api(client, the_case(desk)["id"], "claim", bearer(desk, "alice", "agent"))
    assert (claimed.status_code, claimed.json()["owner"]) == (200, "alice")


def test_the_case_page_refuses_a_login_of_no_person_with_the_reason(client: TestClient, desk: Desk) -> None:
    before = the_case(desk)
    sign_in(client, "temp")
    refused = page_post(client, f"/cases/{before['id']}/act/claim")
    assert refused.status_code == 400
    assert f"no person &#39;temp&#39; on the desk to claim case {before['key']}" in refused.text
    assert the_case(desk) == before
    assert page_post(client, f"/cases/{before['id']}/act/comment", note="seen").status_code == 303


def test_the_queues_bulk_claim_says_why_a_login_of_no_person_took_nothing(client: TestClient, desk: Desk) -> None:
    before = the_case(desk)
    sign_in(client, "temp")
    token = csrf_of(client.get("/queue").text)
    page = client.post("/queue/claim", data={"csrf_token": token, "case": before["id"]})
    assert "claimed 0 cases" in page.text
    assert f"no person &#39;temp&#39; on the desk to claim case {before['key']}" in page.text
    assert the_case(desk) == before


def test_a_login_bound_to_a_person_claims_as_that_person(client: TestClient, desk: Desk) -> None:
    sign_in(client, "alice")
    case_id = the_case(desk)["id"]
    assert page_post(client, f"/cases/{case_id}/act/claim").status_code == 303
    assert the_case(desk)["owner"] == "alice"


def test_the_cli_refuses_as_a_name_of_no_person_with_exit_2(client: TestClient, desk: Desk, tmp_path: Path) -> None:
    before = the_case(desk)
    result = opsdesk(*cli_args(desk, tmp_path, "claim", before["key"], "--as", "nobody"), cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    said = " ".join(result.stderr.split())
    assert f"no person 'nobody' on the desk to claim case {before['key']}" in said
    assert KNOWN in said
    assert the_case(desk) == before
    taken = opsdesk(*cli_args(desk, tmp_path, "claim", before["key"], "--as", "bob"), cwd=tmp_path)
    assert taken.returncode == 0, (taken.stdout, taken.stderr)
    assert the_case(desk)["owner"] == "bob"


def test_tokens_create_and_users_add_say_when_a_name_acts_as_no_person(desk: Desk, tmp_path: Path) -> None:
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", desk.settings.database_url]
    made = opsdesk("tokens", "create", "zapier", "--role", "agent", *where, cwd=tmp_path)
    assert (made.returncode, made.stdout.startswith("odk_")) == (0, True)
    assert " ".join(made.stderr.split()) == (
        f"note: 'zapier' is no person under people: {KNOWN}: it reads and works cases but takes none; name it "
        "after a person to act as them (ADR 0047)"
    )
    assert opsdesk("tokens", "create", "bob", "--role", "agent", *where, cwd=tmp_path).stderr == ""
    viewer = opsdesk("tokens", "create", "grafana", "--role", "viewer", *where, cwd=tmp_path)
    assert " ".join(viewer.stderr.split()) == (
        f"note: 'grafana' is no person under people: {KNOWN}: it reads cases (a viewer); name it after a person to act "
        "as them (ADR 0047)"
    )
    added = CliRunner().invoke(
        cli, ["users", "add", "lin", "--role", "agent", "--shop", "*", "--password-stdin", *where], input=PASSWORD
    )
    assert added.exit_code == 0, added.output
    assert "note: 'lin' is no person under people:" in " ".join(added.stderr.split())
    bound = CliRunner().invoke(
        cli, ["users", "add", "lin2", "--role", "agent", "--shop", "*", "--person", "bob", "--password-stdin", *where],
        input=PASSWORD,
    )
    assert (bound.exit_code, bound.stderr) == (0, "")


def test_the_pages_offer_a_login_of_no_person_no_claim_nor_start_and_a_person_both(
    client: TestClient, desk: Desk
) -> None:
    case_id, key = the_case(desk)["id"], the_case(desk)["key"]  # the page's forms post to the key (ADR 0029)
    sign_in(client, "temp")
    page, queue = client.get(f"/cases/{case_id}").text, client.get("/queue").text
    assert f'action="/cases/{key}/act/claim"' not in page and f'action="/cases/{key}/act/start"' not in page
    assert f'action="/cases/{key}/act/wait"' in page  # what it may do is still offered
    assert 'name="case"' not in queue  # no ticking cases to claim
    sign_in(client, "alice")
    page, queue = client.get(f"/cases/{case_id}").text, client.get("/queue").text
    assert f'action="/cases/{key}/act/claim"' in page and f'action="/cases/{key}/act/start"' in page
    assert f'name="case" value="{case_id}"' in queue
