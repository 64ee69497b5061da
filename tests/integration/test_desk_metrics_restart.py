"""``/api/v1/metrics/desk``'s automation rate is the decision log's, not one process's counters.

It read the ``opsdesk_decisions_total`` counter of the process answering: after a restart it said
``{"automated": 0, "escalated": 0, "rate": null}`` over a database full of decisions (the demo's day of 142
automated and 15 escalated, served by ``opsdesk serve``), and with ``serve --no-worker`` in front of workers that
decide, it never counted anything. The rest of the answer (backlog, SLA compliance, times) is read from the
database over the last 30 days; the automation rate now is too. A SQLite file, a second desk on it as after a
restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.integration.desk_harness import bearer, make_desk
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_a_restarted_server_reports_the_automation_rate_of_the_decisions_on_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_desk(tmp_path, monkeypatch, clock=ManualClock(NOW))
    with TestClient(create_app(first, background=False)) as client:
        for n, (price, reason) in enumerate(
            [("19.99", "SIZE_TOO_SMALL"), ("80.00", "OTHER"), ("30.00", "OTHER")], 1
        ):
            for d in order_lifecycle(n, price=price, reason=reason)[:6]:
                assert (
                    client.post(
                        "/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]
                    ).status_code
                    == 200
                )
        first.process_pending()
        before = client.get("/api/v1/metrics/desk", headers=bearer(first, "v", "viewer")).json()["automation"]
    assert before["automated"] >= 1 and before["escalated"] >= 1

    restarted = make_desk(
        tmp_path, monkeypatch, clock=ManualClock(NOW)
    )  # the same file, a new process's counters
    with TestClient(create_app(restarted, background=False)) as client:
        after = client.get("/api/v1/metrics/desk", headers=bearer(restarted, "v2", "viewer")).json()[
            "automation"
        ]
    assert after == before
