"""A delivery whose write PostgreSQL refuses for its data fails alone; an outage is still waited out (ADR 0030).

PostgreSQL refuses a value too long for its column, and with it the whole transaction (SQLite stores it).
Retried as an outage, one such delivery would hold up its batch, and every batch behind it, for ever.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.errors import Unavailable
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import ShopDefaults
from opsdesk.services.pipeline_drain import process_pending
from opsdesk.storage.sql import SqlDatabase, SqlUnitOfWork
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk, write_config
from tests.pipeline_harness import drain, feed, starter_playbooks
from tests.samples import SECRET, delivery, sample

pytestmark = pytest.mark.postgres


def order(n: int, name: str) -> dict[str, Any]:
    payload = sample("orders/create")
    order_id = 5_000_000_000_000_000_000 + n
    payload.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=name)
    return delivery("orders/create", payload, f"w-{n}")


def statuses(db: SqlDatabase) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, error FROM deliveries ORDER BY id")).all()
    return [(status, error) for status, error in rows]


def test_the_refused_delivery_fails_with_the_reason_and_the_rest_of_its_batch_is_processed(pg_db: SqlDatabase) -> None:
    clock = ManualClock()
    names = ["#1001", "#" + "9" * 80, "#1003"]  # an order's name is stored in 64 characters
    feed(pg_db, [order(n, name) for n, name in enumerate(names)], clock)

    report = drain(pg_db, clock)

    assert (report.deliveries, report.failed) == (3, 1)
    found = statuses(pg_db)
    assert [status for status, _ in found] == ["processed", "failed", "processed"]
    assert found[1][1] == "refused by the database: value too long for type character varying(64)"
    with pg_db.unit_of_work(read_only=True) as uow:
        stored = {state.snapshot.name for state in uow.orders.find_by_id(5_000_000_000_000_000_000)
                  + uow.orders.find_by_id(5_000_000_000_000_000_002) if state.snapshot is not None}
    assert stored == {"#1001", "#1003"}
    assert drain(pg_db, clock).deliveries == 0  # nothing is left to retry


def test_a_connection_lost_mid_batch_is_an_outage_retried_whole_not_a_refusal(pg_db: SqlDatabase) -> None:
    clock = ManualClock()
    feed(pg_db, [order(n, f"#{1000 + n}") for n in range(3)], clock)
    cut: list[int] = []

    def cut_the_connection(uow: UnitOfWork, *_: Any) -> None:  # the server ends this session, once
        if not cut:
            assert isinstance(uow, SqlUnitOfWork) and uow._conn is not None
            cut.append(uow._conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            with pg_db.engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": cut[0]})

    pipeline = Pipeline(starter_playbooks(), lambda _s: ShopDefaults(), watchers=[cut_the_connection])
    with pytest.raises(Unavailable):
        process_pending(pg_db.unit_of_work, pipeline, clock.now)
    assert [status for status, _ in statuses(pg_db)] == ["pending"] * 3  # nothing failed, nothing lost

    assert process_pending(pg_db.unit_of_work, pipeline, clock.now).deliveries == 3
    assert [status for status, _ in statuses(pg_db)] == ["processed"] * 3


def test_ingest_stores_a_refused_batch_one_by_one_and_only_the_refused_delivery_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_db: SqlDatabase, pg_url: str
) -> None:
    """``opsdesk ingest`` stores and processes a batch in one transaction: refused, it goes one by one."""
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    unstorable = order(3, "#1004")
    unstorable["headers"]["X-Shopify-API-Version"] = "2026-07-" + "x" * 30  # stored in 32 characters
    recorded = [order(0, "#1001"), order(1, "#" + "9" * 80), order(2, "#1003"), unstorable]
    path = tmp_path / "deliveries.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(d) for d in recorded) + b"\n")

    where = ["--config", str(write_config(tmp_path)), "--database-url", pg_url]
    result = CliRunner().invoke(cli, ["ingest", str(path), *where, "--format", "json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["lines"], summary["stored"], summary["duplicates"]) == (4, 3, 0)
    assert summary["refused"] == {
        "422 refused by the database: value too long for type character varying(32)": 1
    }
    assert (summary["pipeline"]["failed"], summary["pipeline"]["events"]) == (1, 2)
    assert statuses(pg_db) == [
        ("processed", ""),
        ("failed", "refused by the database: value too long for type character varying(64)"),
        ("processed", ""),
    ]
    with pg_db.unit_of_work(read_only=True) as uow:
        found = [uow.orders.find_by_id(5_000_000_000_000_000_000 + n) for n in (0, 2)]
    names = [state.snapshot.name for states in found for state in states if state.snapshot is not None]
    assert names == ["#1001", "#1003"]


def test_intake_answers_422_to_the_delivery_postgresql_refuses_and_stores_the_rest_of_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_db: SqlDatabase, pg_url: str
) -> None:
    """Over HTTP: the writer commits whatever waits as one group (ADR 0002). A delivery whose header the database
    refuses used to fail its whole group with 503 (every delivery in it retried by Shopify, and refused again
    with the next group); now the group goes one by one, the refused one gets 422 with the reason."""
    desk = make_desk(tmp_path, monkeypatch, database_url=pg_url)
    unstorable = order(9, "#1009")
    unstorable["headers"]["X-Shopify-API-Version"] = "2026-07-" + "x" * 30  # stored in 32 characters
    group = [order(1, "#1001"), unstorable, order(2, "#1002"), order(3, "#1003")]
    codes: dict[str, int] = {}
    with TestClient(create_app(desk, background=False)) as client, pg_db.engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE deliveries IN EXCLUSIVE MODE"))  # the writer waits with the first

        def send(d: dict[str, Any]) -> None:
            headers = d["headers"]
            response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=headers)
            codes[headers["X-Shopify-Webhook-Id"]] = response.status_code

        first = threading.Thread(target=send, args=(order(0, "#1000"),))
        first.start()
        time.sleep(0.5)  # the writer holds the first delivery, blocked on the lock
        others = [threading.Thread(target=send, args=(d,)) for d in group]
        for t in others:
            t.start()
        time.sleep(0.5)  # the rest wait in the writer's queue: its next group
        blocker.rollback()
        for t in [first, *others]:
            t.join()

    assert codes == {"w-0": 200, "w-1": 200, "w-9": 422, "w-2": 200, "w-3": 200}
    with pg_db.unit_of_work(read_only=True) as uow:
        assert uow.deliveries.count() == 4
    assert desk.metrics.intake.labels("refused_422")._value.get() == 1
