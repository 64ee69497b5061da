"""Every timestamp the ``/api/v1`` API writes has one form, UTC ending ``Z`` (ADR 0059), on SQLite and PostgreSQL.

Every ``GET /api/v1`` route of the route table (a new one is walked without a change here) and an action's
answer, over real HTTP, on a desk with cases open and resolved, decisions with their stored inputs, and readiness
evidence; every string in them that starts as a date and a time is checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.desk import Desk
from opsdesk.domain.readiness import Probe
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from opsdesk.web.route_table import route_table
from tests.conftest import SQL_BACKENDS
from tests.integration.desk_harness import bearer, make_desk
from tests.integration.http_harness import serve
from tests.samples import SHOP, order_lifecycle

LOOKS_LIKE_A_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
THE_FORM = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
PAGE = "http://127.0.0.1:9/"  # never fetched: the API reads recorded probes only


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    shops = [{"domain": SHOP, "storefront_url": PAGE}]
    return make_desk(tmp_path, monkeypatch, clock=ManualClock(), database_url=postgres, shops=shops)


@pytest.fixture
def base(desk: Desk) -> Iterator[str]:
    app = create_app(desk, background=False)
    with serve(app) as url:
        for n in (1, 2, 3):
            for d in order_lifecycle(n, reason="OTHER"):
                assert httpx.post(url + "/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
        desk.process_pending()
        with desk.db.unit_of_work() as uow:
            uow.readiness.add_probe(Probe("storefront", SHOP, PAGE, desk.clock.now() - timedelta(hours=1), 200, 250))
            uow.commit()
        yield url


def times(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) of every string in ``value`` that starts as a date and a time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from times(item, f"{where}[]")
    elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        yield where, value


def test_every_timestamp_of_every_api_answer_is_utc_ending_z(base: str, desk: Desk) -> None:
    admin = bearer(desk, "ada", "admin")
    listed = httpx.get(base + "/api/v1/cases", params={"status": ["open", "resolved"]}, headers=admin).json()
    case = listed["cases"][0]
    filled = {"{case_id}": case["key"], "{order_id}": str(case["order_id"])}
    answers: dict[str, Any] = {}
    for entry in route_table(create_app(desk, background=False)):
        if "GET" in entry.methods and entry.path.startswith("/api/v1/"):
            path = entry.path
            for name, value in filled.items():
                path = path.replace(name, value)
            response = httpx.get(base + path, headers=admin)
            assert response.status_code == 200, (path, response.text)
            answers[entry.path] = response.json()
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/orders/{order_id}", "/api/v1/readiness",
            "/api/v1/metrics/desk"} <= set(answers)
    claimed = httpx.post(base + f"/api/v1/cases/{case['key']}/claim", headers=admin)
    assert claimed.status_code == 200, claimed.text
    answers["POST claim"] = claimed.json()
    found = [(f"{route}{where}", text) for route, answer in answers.items() for where, text in times(answer)]
    wrong = [(where, text) for where, text in found if not THE_FORM.fullmatch(text)]
    assert not wrong, wrong
    # What was written in two forms before: the readiness report's and the decisions' stored inputs.
    paths = {where for where, _ in found}
    assert {"/api/v1/readiness.at", "/api/v1/metrics/desk.at"} <= paths, sorted(paths)
    assert any(".decisions[].inputs." in where for where in paths), sorted(paths)
