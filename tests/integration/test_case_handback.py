"""A case in progress that goes back to its team (the return timer, or a lead) is free to claim again from its
page, as a new case is: by any agent of the team, not only by a lead reassigning it.

The dashboard desk of tests/integration/dashboard_harness.py on a SQLite file and on PostgreSQL: the support
team (alice and bob, lead carol) is never on shift, so a case the return timer takes back goes to the team.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import csrf_of, dashboard_desk, sign_in
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), database_url=postgres)


@pytest.fixture
def clock(desk: Desk) -> ManualClock:
    assert isinstance(desk.clock, ManualClock)
    return desk.clock


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    """A return over the refund cap: one case in ``refunds``, owned by the support team."""
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:
            assert client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code == 200
        desk.process_pending()
        yield client


def post(client: TestClient, path: str, **form: str) -> int:
    token = csrf_of(client.get("/queue").text)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False).status_code


def as_person(client: TestClient, username: str) -> None:
    client.cookies.clear()
    sign_in(client, username)


def the_case(desk: Desk) -> tuple[str, str | None, str]:
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(), 10)
    return case.id, case.owner, case.status.value


def hand_back_by_the_return_timer(client: TestClient, desk: Desk, clock: ManualClock, case_id: str) -> None:
    as_person(client, "carol")  # the lead gives bob a case alice started; bob does nothing with it
    assert post(client, f"/cases/{case_id}/act/assign", owner="bob") == 303
    clock.advance(minutes=61)
    desk.sweeper("test").run_once()


def hand_back_by_the_lead(client: TestClient, desk: Desk, clock: ManualClock, case_id: str) -> None:
    as_person(client, "carol")
    assert post(client, f"/cases/{case_id}/act/assign", owner="team:support", note="alice is off sick") == 303


@pytest.mark.parametrize("hand_back", [hand_back_by_the_return_timer, hand_back_by_the_lead])
def test_a_case_in_progress_handed_back_to_the_team_is_claimed_again_from_its_page(
    client: TestClient, desk: Desk, clock: ManualClock, hand_back: object
) -> None:
    case_id = the_case(desk)[0]
    sign_in(client, "alice")
    assert post(client, f"/cases/{case_id}/act/claim") == 303
    assert post(client, f"/cases/{case_id}/act/start") == 303
    hand_back(client, desk, clock, case_id)  # type: ignore[operator]
    assert the_case(desk) == (case_id, "team:support", "in_progress")

    as_person(client, "alice")
    page = client.get(f"/cases/{case_id}").text
    with desk.db.unit_of_work(read_only=True) as uow:
        key = uow.cases.get(case_id).key  # the page's forms post to the case's key (ADR 0029)
    assert f'action="/cases/{key}/act/claim"' in page and "Assign to" not in page  # alice is no lead
    assert post(client, f"/cases/{case_id}/act/claim") == 303

    assert the_case(desk) == (case_id, "alice", "in_progress")  # at work still: the clock it started keeps running
    as_person(client, "bob")  # taken: the others see whose it is and cannot take it from her
    assert f'action="/cases/{key}/act/claim"' not in client.get(f"/cases/{case_id}").text
    assert post(client, f"/cases/{case_id}/act/claim") == 409
    assert the_case(desk) == (case_id, "alice", "in_progress")
