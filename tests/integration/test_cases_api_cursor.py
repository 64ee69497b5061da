"""Paging ``GET /api/v1/cases`` by cursor (ADR 0059): cases opening and ending between two pages make a client
that follows ``next`` neither miss nor see twice a case that stayed, where paging by offset misses one.

A desk built through the composition root on a SQLite file and on PostgreSQL, cases from real Shopify deliveries
(a return for an OTHER reason escalates to ``refunds``), over the real app.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.desk_harness import bearer, make_desk
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return make_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), database_url=postgres)


def deliver(client: TestClient, desk: Desk, *orders: int) -> None:
    for n in orders:
        for d in order_lifecycle(n, reason="OTHER")[:6]:
            assert client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code == 200
    desk.process_pending()


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    """Seven refund cases, one a minute apart: their deadlines are in the order their orders came."""
    with TestClient(create_app(desk, background=False)) as client:
        deliver(client, desk, *range(1, 8))
        yield client


def page(client: TestClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/cases", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def end_case(client: TestClient, desk: Desk, case_id: str) -> None:
    ada = bearer(desk, "ada", "agent")
    for action, body in (("claim", None), ("resolve", {"resolution": "no_action"})):
        assert client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=ada).status_code == 200


def test_a_case_opening_and_one_ending_between_two_pages_skip_and_repeat_nothing(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    before = [c["key"] for c in page(client, viewer, limit=100)["cases"]]
    assert len(before) == 7
    first = page(client, viewer, limit=3)
    assert [c["key"] for c in first["cases"]] == before[:3] and first["next"]

    end_case(client, desk, first["cases"][1]["id"])  # one the client saw ends: by offset, the next page would
    assert [c["key"] for c in page(client, viewer, limit=3, offset=3)["cases"]] == before[4:7]  # miss before[3]
    deliver(client, desk, 8)  # and a new one opens (its return came last, its deadline is the soonest)

    seen = [c["key"] for c in first["cases"]]
    cursor = first["next"]
    while cursor:
        later = page(client, viewer, limit=3, cursor=cursor)
        assert later["offset"] is None
        seen += [c["key"] for c in later["cases"]]
        cursor = later["next"]
    stayed = [key for key in before if key != first["cases"][1]["key"]]
    assert [key for key in seen if key in stayed] == stayed  # each once, in the queue's order
    assert seen == before  # the new one sorts before the cursor: the next look from the start shows it
    assert len(page(client, viewer, limit=100)["cases"]) == 7


def test_pages_by_cursor_follow_the_queue_across_its_runs(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    cases = page(client, viewer, limit=7)["cases"]
    for case in cases[:3]:
        end_case(client, desk, case["id"])
    statuses = ["open", "assigned", "resolved"]
    whole = [c["key"] for c in page(client, viewer, status=statuses, limit=100)["cases"]]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"status": statuses, "limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = page(client, viewer, **query)
        seen += [c["key"] for c in answer["cases"]]
        if not (cursor := answer["next"]):
            break
    assert seen == whole and len(whole) == 7
    assert page(client, viewer, limit=7)["next"] is None  # the last page says so, not an empty page after it


def _edited(cursor: str) -> str:
    text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    return base64.urlsafe_b64encode(text.replace('"k":["2026', '"k":["2025').encode()).decode().rstrip("=")


def test_a_cursor_is_refused_with_offset_other_filters_or_garbled(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    cursor = page(client, viewer, limit=2)["next"]
    assert _edited(cursor) != cursor
    for query in (
        {"cursor": cursor, "offset": 2},
        {"cursor": cursor, "queue": "refunds"},
        {"cursor": cursor, "status": ["open", "resolved"]},
        {"cursor": "not-a-cursor"},
        {"cursor": cursor[:-3]},
        {"cursor": _edited(cursor)},
        {"cursor": cursor * 10},
    ):
        response = client.get("/api/v1/cases", params=query, headers=viewer)
        assert response.status_code == 400, (query, response.text)
        assert list(response.json()) == ["error"] and "'cursor'" in response.json()["error"], response.text
    assert page(client, viewer, limit=2, cursor=cursor, offset=0)["cases"]  # offset 0 is no offset
