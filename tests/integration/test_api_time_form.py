"""Every timestamp the ``/api/v1`` API writes has one form, UTC ending ``Z`` (ADR 0059), on SQLite and PostgreSQL,
and what a decision stored is shown as stored (ADR 0059 amended in session 14).

Every ``GET /api/v1`` route of the route table (a new one is walked without a change here) and an action's
answer, over real HTTP, on a desk with cases open and resolved, decisions with their stored inputs, and readiness
evidence; every string in them that starts as a date and a time is checked, but for a decision's inputs: text the
decision was taken on (a customer's note, a time in the shop's offset), read back as it was stored. Before, every
whole string shaped like an aware time was rewritten into UTC, a customer's note "2026-01-05T10:00:00-05:00" too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from opsdesk.desk import Desk
from opsdesk.domain.readiness import Probe
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from opsdesk.web.route_table import route_table
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import dashboard_desk
from tests.integration.desk_harness import bearer, make_desk
from tests.integration.http_harness import serve
from tests.samples import SHOP, delivery, order_lifecycle

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
    written = [(where, text) for where, text in found if ".inputs." not in where]  # inputs: as stored (below)
    wrong = [(where, text) for where, text in written if not THE_FORM.fullmatch(text)]
    assert not wrong, wrong
    # What was written in two forms before: the readiness report's, its evidence's, an order's decisions' times.
    paths = {where for where, _ in written}
    assert {"/api/v1/readiness.at", "/api/v1/metrics/desk.at", "/api/v1/orders/{order_id}.decisions[].occurred_at",
            "/api/v1/readiness.controls[].measured.probes.demo-store.myshopify.com.at"} <= paths, sorted(paths)


SHOPS_OFFSET = timezone(timedelta(hours=-5))  # the shop's: Shopify writes its times in it
NOTE = "2026-01-05T10:00:00-05:00"  # a customer's note that is a time ("call me then"), in their own words


def test_a_decisions_inputs_are_shown_as_stored_and_its_own_times_in_the_one_form(desk: Desk) -> None:
    deliveries = order_lifecycle(9, base=datetime(2026, 1, 5, 4, 0, tzinfo=SHOPS_OFFSET), reason="OTHER")[:6]
    request = orjson.loads(deliveries[5]["body"])
    request["return_line_items"][0]["return_reason_note"] = NOTE
    sent = datetime(2026, 1, 5, 9, 14, tzinfo=UTC)
    deliveries[5] = delivery("returns/request", request, "w-9-note", triggered_at=sent)
    order_id = request["order"]["id"]
    admin = bearer(desk, "ada", "admin")
    with serve(create_app(desk, background=False)) as url:
        for d in deliveries:
            assert httpx.post(url + "/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
        desk.process_pending()
        order = httpx.get(f"{url}/api/v1/orders/{order_id}", headers=admin).json()
        key = next(c["key"] for c in order["cases"])
        case = httpx.get(f"{url}/api/v1/cases/{key}", headers=admin).json()
    with desk.db.unit_of_work(read_only=True) as uow:
        stored = {d.id: orjson.loads(orjson.dumps(d.inputs)) for d in uow.decisions.for_order(SHOP, order_id)}
    for decision in [*order["decisions"], *case["decisions"]]:
        assert decision["inputs"] == stored[decision["id"]]  # as the decision was taken on it, not rewritten
        assert THE_FORM.fullmatch(decision["decided_at"]), decision["decided_at"]
    noted = [d["inputs"] for d in order["decisions"] if d["inputs"].get("event", {}).get("notes")]
    assert noted and noted[0]["event"]["notes"] == [NOTE]
    assert noted[0]["order"]["created_at"] == "2026-01-05T09:09:00+00:00"  # the form it was stored in, as stored
    assert all(THE_FORM.fullmatch(d["occurred_at"]) for d in order["decisions"])  # the API's own: UTC Z


@pytest.fixture(params=SQL_BACKENDS)
def sla_desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """A desk whose refunds queue has an SLA policy: its cases carry clocks."""
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(), database_url=postgres)


def test_a_cases_sla_clocks_are_the_apis_own_times_in_the_one_form(sla_desk: Desk) -> None:
    """The clocks are stored as text in the case's detail (``sla.clock_to_json``), but they are the desk's, read by
    ``GET /api/v1/cases/{id}`` as ``sla``: typed on the way out, so written in UTC ending Z, not as stored."""
    with serve(create_app(sla_desk, background=False)) as url:
        for d in order_lifecycle(1, reason="OTHER")[:6]:
            assert httpx.post(url + "/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
        sla_desk.process_pending()
        viewer = bearer(sla_desk, "vi", "viewer")
        [listed] = httpx.get(url + "/api/v1/cases", headers=viewer).json()["cases"]
        case = httpx.get(f"{url}/api/v1/cases/{listed['key']}", headers=viewer).json()
    clocks = [clock for sla in (case["sla"], case["detail"]["sla"]) for clock in sla["clocks"].values()]
    assert clocks and all(THE_FORM.fullmatch(clock["started_at"]) and THE_FORM.fullmatch(clock["deadline"])
                          for clock in clocks), clocks
