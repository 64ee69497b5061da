"""A case goes only to someone the desk knows: a person under ``people:`` or a team under ``teams:``.

Given to a name nobody is configured under (a typo: ``Alice`` for ``alice``, ``team:suport``), a case had an owner
no one is: nobody is told, no queue of a person shows it, the return timer and the escalation ladder act for
nobody, and the readiness control "every order has a clear owner" still passed. The JSON API, the dashboard's form
and the CLI now refuse such an assignment, naming the name, and leave the case as it was. On a SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.integration.test_case_holder import api, cli_args, page_post, the_case
from tests.integration.test_cli import opsdesk
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
UNKNOWN = ["ghost", "Alice", "team:suport"]


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(NOW))


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    """A return over the refund cap: one case in ``refunds``, with the support team."""
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:
            response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
            assert response.status_code == 200
        desk.process_pending()
        assert the_case(desk)["owner"] == "team:support"
        yield client


@pytest.mark.parametrize("owner", UNKNOWN)
def test_the_api_refuses_to_give_a_case_to_someone_the_desk_does_not_know(
    client: TestClient, desk: Desk, owner: str
) -> None:
    before = the_case(desk)
    refused = api(client, before["id"], "assign", bearer(desk, "carol", "lead"), owner=owner)
    assert refused.status_code == 400, refused.text
    assert f"no person or team {owner!r}" in refused.json()["error"]
    assert the_case(desk) == before


def test_people_and_teams_the_desk_knows_still_get_cases(client: TestClient, desk: Desk) -> None:
    carol = bearer(desk, "carol", "lead")
    case_id = the_case(desk)["id"]
    for owner in ("bob", "team:ops", "team:support"):
        moved = api(client, case_id, "assign", carol, owner=owner)
        assert (moved.status_code, moved.json()["owner"]) == (200, owner)


def test_the_dashboards_form_refuses_it_with_the_reason_on_the_page(client: TestClient, desk: Desk) -> None:
    before = the_case(desk)
    sign_in(client, "carol")
    refused = page_post(client, f"/cases/{before['id']}/act/assign", owner="ghost")
    assert refused.status_code == 400
    assert "no person or team &#39;ghost&#39;" in refused.text or "no person or team 'ghost'" in refused.text
    assert the_case(desk) == before


def test_the_cli_refuses_it_with_exit_2_naming_the_name(
    client: TestClient, desk: Desk, tmp_path: Path
) -> None:
    before = the_case(desk)
    result = opsdesk(
        *cli_args(desk, tmp_path, "assign", before["key"], "Alice", "--as", "carol"), cwd=tmp_path
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "no person or team 'Alice'" in " ".join(result.stderr.split())
    assert the_case(desk) == before
