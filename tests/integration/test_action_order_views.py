"""An order's API view and page show an action waiting for an earlier one of its decision, and one not sent
because an earlier one failed (ADR 0042).

The refunds playbook decides a refund and its confirmation email for a return request delivered over HTTP;
Shopify refuses the refund for good; ``/metrics`` counts the email cancelled. SQLite file and PostgreSQL, the
dashboard's own sign-in.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opsdesk.domain.outbox import Rejected, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.services import tokens
from opsdesk.testing import RecordingConnector
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.integration.metrics_harness import series
from tests.samples import SHOP, order_lifecycle

ORDER = 5_000_000_000_000_000_001
REFUSED = "Refund amount exceeds the refundable amount"


class RefusingShopify:
    def send(self, action: OutboxAction) -> SendResult:
        return Rejected(REFUSED)


def api_actions(client: TestClient, token: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/orders/{ORDER}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return {a["kind"]: a for a in response.json()["actions"]}


def outbox_counts(client: TestClient) -> dict[str, float]:
    return series(client.get("/metrics").text, "opsdesk_outbox_actions", "outcome")


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_the_order_shows_the_email_waiting_for_its_refund_then_not_sent_when_it_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, backend: str
) -> None:
    smtp = RecordingConnector("smtp")
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    desk = dashboard_desk(
        tmp_path, monkeypatch, connectors={"shopify": RefusingShopify(), "smtp": smtp}, database_url=url
    )
    with desk.db.unit_of_work() as uow:
        token = tokens.create_token(uow, "test", "viewer", desk.clock.now())
        uow.commit()
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1)[:6]:
            assert (
                client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code
                == 200
            )
        desk.process_pending()
        sign_in(client, "vera")

        waiting = api_actions(client, token)
        page = html.unescape(client.get(f"/orders/{SHOP}/{ORDER}").text)
        assert [(waiting[k]["status"], waiting[k]["position"]) for k in ("refund", "email")] == [
            ("pending", 0),
            ("pending", 1),
        ]
        assert (waiting["refund"]["waits_for"], waiting["email"]["waits_for"]) == (
            None,
            {"id": waiting["refund"]["id"], "kind": "refund"},
        )
        assert "pending, waits for the refund" in page
        assert outbox_counts(client) == {
            "sent": 0, "retried": 0, "failed": 0, "deferred": 0, "cancelled": 0, "withdrawn": 0
        }

        sender = desk.sender("test")
        while sender.run_once():
            pass
        failed = api_actions(client, token)
        page = html.unescape(client.get(f"/orders/{SHOP}/{ORDER}").text)
        counted = outbox_counts(client)

    assert (counted["failed"], counted["cancelled"], counted["sent"]) == (1, 1, 0)
    reason = f"not sent: action 1 of this decision (refund) failed: rejected by shopify: {REFUSED}"
    assert [(failed[k]["status"], failed[k]["waits_for"]) for k in ("refund", "email")] == [
        ("failed", None),
        ("failed", None),
    ]
    assert (failed["email"]["attempts"], failed["email"]["last_error"], smtp.sent) == (0, reason, [])
    assert reason in page and "waits for" not in page
