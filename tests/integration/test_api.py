"""The JSON API: bearer tokens, roles, and an order's state with its decisions and actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.services import tokens
from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.samples import order_lifecycle


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return make_desk(tmp_path, monkeypatch)


def token(desk, role: str = "viewer") -> str:
    with desk.db.unit_of_work() as uow:
        value = tokens.create_token(uow, "test", role, desk.clock.now())
        uow.commit()
    return value


def test_an_order_shows_its_state_owner_decisions_with_explanations_and_actions(desk) -> None:
    with TestClient(create_app(desk, background=False)) as client:
        for d in order_lifecycle(1)[:6]:
            assert (
                client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code
                == 200
            )
        desk.process_pending()
        response = client.get(
            "/api/v1/orders/5000000000000000001", headers={"Authorization": f"Bearer {token(desk)}"}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == "team:ops"
    assert body["state"]["payment"] == "paid"
    refund = next(
        d for d in body["decisions"] if d["event"] == "return.requested" and d["playbook"] == "refunds"
    )
    assert refund["rule"] == "auto-refund-simple-purchase-error"
    assert refund["outcome"] == "automate"
    assert refund["explanation"].startswith("rule auto-refund-simple-purchase-error matched")
    assert refund["inputs"]["event"]["amount"] == "19.99"
    assert sorted(a["kind"] for a in body["actions"]) == ["email", "refund"]


def test_the_api_needs_a_valid_bearer_token(desk) -> None:
    with TestClient(create_app(desk, background=False)) as client:
        assert client.get("/api/v1/orders/1").status_code == 401
        assert (
            client.get("/api/v1/orders/1", headers={"Authorization": "Bearer odk_wrong"}).status_code == 401
        )
        assert (
            client.get("/api/v1/orders/1", headers={"Authorization": f"Bearer {token(desk)}"}).status_code
            == 404
        )


def test_tokens_are_stored_only_as_digests(desk) -> None:
    value = token(desk, "admin")
    with desk.db.unit_of_work() as uow:
        found = uow.tokens.find_by_digest(tokens.digest(value))
    assert found is not None and found.role == "admin"
    assert value not in found.digest
    with pytest.raises(Exception, match="unknown role"):
        token(desk, "superuser")


def test_health_metrics_and_openapi(desk) -> None:
    with TestClient(create_app(desk, background=False)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        d = order_lifecycle(1)[0]
        client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
        metrics = client.get("/metrics").text
        assert 'opsdesk_intake_deliveries_total{outcome="stored"} 1.0' in metrics
        assert "/api/v1/orders/{order_id}" in client.get("/openapi.json").json()["paths"]


@pytest.mark.postgres
def test_the_whole_path_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    desk = make_desk(tmp_path, monkeypatch, database_url=pg_url)
    with TestClient(create_app(desk, background=False)) as client:
        for d in order_lifecycle(2)[:6] + order_lifecycle(2)[:6]:
            assert (
                client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code
                == 200
            )
        desk.process_pending()
        body = client.get(
            "/api/v1/orders/5000000000000000002", headers={"Authorization": f"Bearer {token(desk)}"}
        ).json()
    assert sorted(a["kind"] for a in body["actions"]) == ["email", "refund"]
    # sent twice, decided once: one decision per delivered event and playbook listening to it
    decided = [(d["event"], d["playbook"]) for d in body["decisions"]]
    assert len(decided) == len(set(decided)) and ("return.requested", "refunds") in decided
