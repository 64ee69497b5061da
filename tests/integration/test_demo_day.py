"""The demo's own day, as a newcomer gets it: every injected incident caught, and every page of the desk
at the day's end answers (no page of a case, order or queue view fails on the data a real day leaves).

One run of the shipped ``demo`` scenario (the README's first command runs the same), stopped at the scored
day's end as ``scripts/screenshots.py`` does, then each case page, each linked order page and the other
pages read through the real app with a signed-in lead, on the simulation's clock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk import app as composition
from opsdesk.cli_demo import prepare
from opsdesk.cli_simulate import DEMO_SECRET, run_in_process
from opsdesk.domain.records import CaseFilter
from opsdesk.services import tokens, users
from opsdesk.simulator.run_state import VirtualClock
from opsdesk.simulator.scenario import load_scenario
from opsdesk.web.app import create_app

PASSWORD = "demo-day-test-password"
ORDER_LINK = re.compile(r'href="(/orders/[^"/]+/\d+)"')


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Any]]:
    directory = tmp_path_factory.mktemp("demo-day")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("OPSDESK_AUDIT_KEY", "OPSDESK_AUDIT_PREVIOUS_KEY", "OPSDESK_CONFIG", "OPSDESK_DATABASE_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("OPSDESK_SHOPIFY_SECRET", DEMO_SECRET)
        url = f"sqlite:///{directory / 'opsdesk.db'}"
        plan = replace(load_scenario("demo"), follow=timedelta(0))
        with contextlib.redirect_stdout(None):
            settings = prepare(directory, url, plan)
        card = run_in_process(settings, plan, DEMO_SECRET, fmt="json")
        desk = composition.build(settings, clock=VirtualClock(plan.end))
        with desk.db.unit_of_work() as uow:
            users.add_user(uow, "lead", PASSWORD, "Lead", {"*": "admin"}, "alice", now=desk.clock.now())
            uow.commit()
        yield card, desk


def test_every_injected_incident_of_the_demo_is_caught_with_its_time_to_detect(day: Any) -> None:
    card, _ = day
    incidents = card["incidents"]
    assert len(incidents) == 7 and card["caught"] == "7 of 7", card["incidents"]
    assert all(i["caught"] and i["time_to_detect_seconds"] is not None for i in incidents)
    assert card["unneeded_escalations"]["count"] == 0
    assert card["max_unowned"] == 0


def test_the_demo_store_is_set_up_so_readiness_fails_only_on_what_the_day_did(day: Any) -> None:
    """The controls that only a store's set-up decides pass (its pages answer the probe, its pickups and
    packaging are documented, its people can read orders, its risk rules were reviewed): what fails is
    what the day's incidents did, such as the stock the overselling drove below zero."""
    card, _ = day
    controls = card["readiness"]["controls"]
    set_up = ("returns-policy-accessible", "site-speed-monitored", "support-can-read-orders",
              "fraud-rules-reviewed", "packaging-stocked", "pickup-times-documented", "order-owners",
              "automations-owned")
    assert {c: controls[c] for c in set_up} == dict.fromkeys(set_up, "pass")
    assert controls["inventory-synced"] == "fail"  # the overselling left a level below zero


def test_every_page_of_the_desk_at_the_days_end_answers(day: Any) -> None:
    _, desk = day
    with desk.db.unit_of_work(read_only=True) as uow:
        cases = uow.cases.search(CaseFilter(active_only=False), 1000)
    assert len(cases) > 50  # a real day's worth: every kind the incidents open
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        signed = client.post("/login", data={"username": "lead", "password": PASSWORD, "csrf_token": token,
                                             "next": "/queue"}, follow_redirects=False)
        assert signed.status_code == 303
        failed: list[str] = []
        orders: set[str] = set()
        pages = ["/queue?view=all", "/queue/rows?view=all", "/orders", "/charts", "/readiness", "/playbooks",
                 "/settings", *(f"/cases/{c.id}" for c in cases)]
        for path in pages:
            response = client.get(path)
            if response.status_code != 200:
                failed.append(f"{path}: {response.status_code}")
            orders.update(ORDER_LINK.findall(response.text))
        for path in sorted(orders):
            if (status := client.get(path).status_code) != 200:
                failed.append(f"{path}: {status}")
    assert len(orders) > 20
    assert failed == []


def test_every_read_of_the_json_api_at_the_days_end_answers(day: Any) -> None:
    _, desk = day
    with desk.db.unit_of_work() as uow:
        token = tokens.create_token(uow, "crawler", "viewer", desk.clock.now())
        uow.commit()
    with desk.db.unit_of_work(read_only=True) as uow:
        cases = uow.cases.search(CaseFilter(active_only=False), 1000)
    orders = sorted({c.order_id for c in cases if c.order_id is not None})
    assert len(orders) > 20
    paths = ["/api/v1/cases", "/api/v1/cases?queue=fulfilment", "/api/v1/metrics/desk", "/api/v1/readiness",
             "/metrics", *(f"/api/v1/cases/{c.id}" for c in cases), *(f"/api/v1/orders/{o}" for o in orders)]
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        headers = {"Authorization": f"Bearer {token}"}
        failed = [f"{p}: {r.status_code}" for p in paths if (r := client.get(p, headers=headers)).status_code != 200]
    assert failed == []
