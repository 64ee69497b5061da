"""The case API over real HTTP: a desk built through the composition root on a SQLite file, bearer tokens.

Cases come from real Shopify deliveries: a return requested for an OTHER reason is not a simple purchase
error, so the refunds playbook escalates it to the ``refunds`` queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.services.cases import ACTIONS
from opsdesk.testing import ManualClock, RecordingConnector
from opsdesk.web.app import create_app
from opsdesk.web.cases import CaseAction
from tests.integration.desk_harness import bearer, make_desk
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ORDER = 5_000_000_000_000_000_001


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return make_desk(tmp_path, monkeypatch, clock=ManualClock(NOW))


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(desk, background=False)) as client:
        for n in (1, 2, 3):
            for d in order_lifecycle(n, reason="OTHER")[:6]:
                response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
                assert response.status_code == 200
        desk.process_pending()
        yield client


def cases(client: TestClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/cases", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def first_case(client: TestClient, desk: Desk) -> dict[str, Any]:
    found = cases(client, bearer(desk, "viewer", "viewer"))["cases"]
    return next(c for c in found if c["order_id"] == ORDER)


def post(client: TestClient, case_id: str, action: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/{action}", json=body or None, headers=headers)


def test_escalated_returns_are_listed_in_the_refunds_queue_owned_by_its_team(client, desk) -> None:
    body = cases(client, bearer(desk, "vi", "viewer"), queue="refunds")
    assert body["total"] == 3
    assert [(c["kind"], c["status"], c["owner"]) for c in body["cases"]] == [("refund", "open", "team:ops")] * 3
    assert sorted(c["order_id"] for c in body["cases"]) == [ORDER, ORDER + 1, ORDER + 2]
    assert [c["opened_at"] for c in body["cases"]] == sorted(c["opened_at"] for c in body["cases"])


def test_the_list_filters_and_pages(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    assert cases(client, viewer, queue="disputes")["total"] == 0
    assert cases(client, viewer, owner="team:ops", kind="refund")["total"] == 3
    assert cases(client, viewer, status=["open", "assigned"], shop="demo-store.myshopify.com")["total"] == 3
    # a shop the caller holds no role in is not theirs to list, not merely empty
    unknown = {"status": ["open"], "shop": "nowhere.myshopify.com"}
    assert client.get("/api/v1/cases", params=unknown, headers=viewer).status_code == 404
    page = cases(client, viewer, limit=2, offset=2)
    assert (page["total"], len(page["cases"]), page["limit"], page["offset"]) == (3, 1, 2, 2)
    assert client.get("/api/v1/cases", params={"limit": 0}, headers=viewer).status_code == 422
    assert client.get("/api/v1/cases").status_code == 401


def test_due_before_without_an_offset_is_utc_not_a_500(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    case_id = first_case(client, desk)["id"]
    with desk.db.unit_of_work() as uow:
        uow.cases.set_due(case_id, datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
        uow.commit()
    for before, total in (("2026-01-05T12:00:01", 1), ("2026-01-05T12:00:00", 0), ("2026-01-05T07:00:00-05:00", 0)):
        assert cases(client, viewer, due_before=before)["total"] == total, before


def test_a_case_shows_its_timeline_and_the_explanation_of_the_decision_that_opened_it(client, desk) -> None:
    case = first_case(client, desk)
    response = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(desk, "vi", "viewer"))
    assert response.status_code == 200
    body = response.json()
    assert body["case"]["id"] == case["id"]
    assert [(e["kind"], e["actor"], e["after"]["owner"]) for e in body["timeline"]] == [
        ("opened", "automation", "team:ops")
    ]
    [opener] = [d for d in body["decisions"] if d["opened_this_case"]]
    assert (opener["rule"], opener["outcome"], opener["event"]) == (
        "refund-request-needs-a-person", "escalate", "return.requested")
    assert opener["explanation"] == "rule refund-request-needs-a-person escalates: always"
    assert {d["event"] for d in body["decisions"]} >= {"order.created", "return.requested"}
    assert client.get("/api/v1/cases/nope", headers=bearer(desk, "vi", "viewer")).status_code == 404


def test_the_loser_of_a_claim_gets_409_naming_the_holder(client, desk) -> None:
    case_id, key = (first_case(client, desk)[k] for k in ("id", "key"))
    won = post(client, case_id, "claim", bearer(desk, "ada", "agent"))
    assert won.status_code == 200
    assert (won.json()["owner"], won.json()["status"], won.json()["version"]) == ("ada", "assigned", 3)

    lost = post(client, case_id, "claim", bearer(desk, "bob", "agent"))
    assert lost.status_code == 409
    assert lost.json() == {"error": f"case {key} is already claimed by ada", "holder": "ada"}
    assert post(client, case_id, "claim", bearer(desk, "vic", "viewer")).status_code == 403
    mine = cases(client, bearer(desk, "ada", "agent"), owner="me")
    assert [(c["id"], c["owner"]) for c in mine["cases"]] == [(case_id, "ada")]


def test_assigning_to_someone_else_takes_a_lead(client, desk) -> None:
    case_id = first_case(client, desk)["id"]
    refused = post(client, case_id, "assign", bearer(desk, "ada", "agent"), owner="bob")
    assert refused.status_code == 403
    assert post(client, case_id, "assign", bearer(desk, "ada", "agent"), owner="ada").json()["owner"] == "ada"
    moved = post(client, case_id, "assign", bearer(desk, "lin", "lead"), owner="bob", note="bob has context")
    assert (moved.status_code, moved.json()["owner"]) == (200, "bob")


def test_working_a_case_through_to_a_refund_queues_the_refund_like_an_automated_decision(client, desk) -> None:
    case_id, key = (first_case(client, desk)[k] for k in ("id", "key"))
    ada = bearer(desk, "ada", "agent")
    for action, body in [("claim", {}), ("start", {}), ("comment", {"note": "asked for photos"}),
                         ("wait", {"on": "customer"}), ("resume", {"note": "photos arrived"})]:
        response = post(client, case_id, action, ada, **body)
        assert response.status_code == 200, (action, response.text)
    resolved = post(client, case_id, "resolve", ada, resolution="approve_refund", note="damage confirmed")
    assert resolved.json()["status"] == "resolved"

    order = client.get(f"/api/v1/orders/{ORDER}", headers=ada).json()
    [desk_decision] = [d for d in order["decisions"] if d["playbook"] == "desk"]
    assert (desk_decision["rule"], desk_decision["outcome"]) == ("approve_refund", "person")
    assert desk_decision["explanation"] == f"ada resolved case {key} as approve_refund: damage confirmed"
    assert desk_decision["inputs"]["actor"] == "ada"
    refund = next(a for a in order["actions"] if a["kind"] == "refund")
    assert (refund["payload"]["amount"], refund["status"]) == ("19.99", "pending")

    sender = desk.sender()
    assert sender.run_once() == 1  # the refund: its confirmation waits for it (ADR 0042)
    assert sender.run_once() == 1  # then the confirmation
    shopify = desk.connectors["shopify"]
    assert isinstance(shopify, RecordingConnector)
    assert [(a.kind, a.payload["amount"]) for a in shopify.sent] == [("refund", "19.99")]

    timeline = client.get(f"/api/v1/cases/{case_id}", headers=ada).json()["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "claimed", "started", "comment", "waiting", "resumed",
                                             "resolved"]


def test_closing_and_reopening(client, desk) -> None:
    case_id = first_case(client, desk)["id"]
    ada = bearer(desk, "ada", "agent")
    post(client, case_id, "claim", ada)
    post(client, case_id, "resolve", ada, resolution="no_action")
    assert post(client, case_id, "close", ada).json()["status"] == "closed"
    reopened = post(client, case_id, "reopen", ada, note="customer wrote again")
    assert (reopened.json()["status"], reopened.json()["resolution"]) == ("assigned", None)


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [
        ("dance", {}, 422),
        ("claim", {"colour": "red"}, 422),
        ("resolve", {"resolution": "refund_twice"}, 422),
        ("resolve", {"resolution": "approve_refund", "amount": -5}, 422),
        ("wait", {"on": "moon"}, 422),
        ("wait", {}, 400),
        ("close", {}, 400),
    ],
)
def test_bad_requests_are_refused_with_4xx(client, desk, action, body, status) -> None:
    case_id = first_case(client, desk)["id"]
    response = post(client, case_id, action, bearer(desk, "ada", "agent"), **body)
    assert response.status_code == status, response.text


def test_desk_metrics_in_the_api_and_the_backlog_gauge_on_metrics(client, desk) -> None:
    case_id = first_case(client, desk)["id"]
    ada = bearer(desk, "ada", "agent")
    post(client, case_id, "comment", ada, note="looking")
    post(client, case_id, "resolve", ada, resolution="deny")

    body = client.get("/api/v1/metrics/desk", headers=ada).json()
    assert body["backlog"] == {
        "total": 2,
        "queues": {"refunds": {"total": 2, "by_age": {"<1h": 2, "1h-4h": 0, "4h-24h": 0, "1d-3d": 0, ">3d": 0}}},
    }
    assert body["resolution_seconds"]["count"] == 1
    assert body["first_response_seconds"]["count"] == 1
    assert body["automation"] == {"automated": 0, "escalated": 3, "rate": 0.0}
    assert 'opsdesk_case_backlog{queue="refunds"} 2.0' in client.get("/metrics").text
    assert [a.value for a in CaseAction] == list(ACTIONS)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/{action}",
            "/api/v1/metrics/desk"} <= set(paths)


WEEK = {day: ["09:00-12:00", "13:00-17:30"] for day in ("mon", "tue", "wed", "thu", "fri")}
ORG = {
    "calendars": {"support": {"timezone": "America/New_York", "hours": WEEK}},
    "sla_policies": {"refunds": {"calendar": "support", "targets": {"first_response": "4h", "resolution": "24h"}}},
    "people": {"alice": {"name": "Alice", "skills": ["refunds"]}, "carol": {"name": "Carol"}},
    "teams": {"support": {"members": ["alice"], "lead": "carol", "calendar": "support"}},
    "queues": {"refunds": {"team": "support", "sla": "refunds", "skills": ["refunds"]}},
    "ownership": {"default_team": "support"},
}
MONDAY_10_NY = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def test_with_an_organisation_a_case_gets_a_person_and_sla_deadlines_that_pause_while_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(MONDAY_10_NY)
    desk = make_desk(tmp_path, monkeypatch, clock=clock, **ORG)
    with TestClient(create_app(desk, background=False)) as client:
        for d in order_lifecycle(1, reason="OTHER")[:6]:
            client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
        desk.process_pending()
        alice = bearer(desk, "alice", "agent")
        [case] = cases(client, alice, owner="me")["cases"]
        # 4 business hours from Monday 10:00 in New York, with the lunch hour: 15:00 New York.
        assert (case["owner"], case["due_at"]) == ("alice", "2026-01-05T20:00:00Z")
        assert client.get(f"/api/v1/cases/{case['id']}", headers=alice).json()["sla"] is not None

        clock.advance(hours=1)
        waiting = post(client, case["id"], "wait", alice, on="customer").json()
        assert (waiting["status"], waiting["due_at"]) == ("waiting_customer", None)
        clock.advance(hours=2)
        resumed = post(client, case["id"], "resume", alice).json()
        # Paused 11:00-13:00 New York, of which one hour was open (lunch is closed): one hour later.
        assert resumed["due_at"] == "2026-01-05T21:00:00Z"
        answered = post(client, case["id"], "comment", alice, note="sent a label").json()
        assert answered["due_at"] > resumed["due_at"]  # the resolution deadline runs on

        post(client, case["id"], "resolve", alice, resolution="no_action")
        sla = client.get("/api/v1/metrics/desk", headers=alice).json()["sla"]
        assert sla == {"resolved_with_deadline": 1, "in_time": 1, "compliance": 1.0}


def test_a_case_is_read_and_worked_by_its_key_as_by_its_id(client, desk) -> None:
    """ADR 0029: the key comes first in every case document and names the case wherever the id does."""
    viewer = bearer(desk, "vi", "viewer")
    listed = cases(client, viewer)["cases"]
    assert [list(c)[:2] for c in listed] == [["key", "id"]] * 3
    assert sorted(c["key"] for c in listed) == ["C-1", "C-2", "C-3"]
    case = first_case(client, desk)
    by_key = client.get(f"/api/v1/cases/{case['key']}", headers=viewer)
    by_id = client.get(f"/api/v1/cases/{case['id']}", headers=viewer)
    assert by_key.status_code == 200 and by_key.json() == by_id.json()
    claimed = post(client, case["key"].lower(), "claim", bearer(desk, "ada", "agent"))
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["id"], claimed.json()["key"], claimed.json()["owner"]) == (case["id"], case["key"], "ada")
    order = client.get(f"/api/v1/orders/{ORDER}", headers=viewer).json()
    assert [c["key"] for c in order["cases"]] == [case["key"]]
    missing = client.get("/api/v1/cases/C-99", headers=viewer)
    assert missing.status_code == 404 and missing.json() == {"error": "no case C-99"}
