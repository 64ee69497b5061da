"""``opsdesk serve``'s logs: JSON lines on stderr that say which delivery failed, never what it said (ADR 0033).

A delivery PostgreSQL refuses at intake (a header too long for its column: 422) and one it refuses while
processing it (an order name too long: marked failed) are the two a delivery's data makes fail (ADR 0030).
Both carry the customer's email in their bodies; the logs must name the delivery and leave the body out.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from opsdesk import logs
from opsdesk.domain.errors import DataRefused
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import ShopDefaults
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock
from tests.integration.desk_harness import write_config
from tests.pipeline_harness import feed, starter_playbooks
from tests.ports import free_port
from tests.samples import SECRET, SHOP, delivery, sample

EMAIL = "jo.private@example.com"
LONG_NAME = "#" + "9" * 80  # an order's name is stored in 64 characters


def order(n: int, name: str) -> dict[str, Any]:
    payload = sample("orders/create")
    order_id = 5_000_000_000_000_000_000 + n
    payload.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=name, email=EMAIL)
    payload["customer"]["email"] = EMAIL
    return delivery("orders/create", payload, f"w-{n}")


def serve(tmp_path: Path, database_url: str, port: int, *options: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_LOG_")}
    env.update(OPSDESK_SHOPIFY_SECRET=SECRET, OPSDESK_AUDIT_KEY="k" * 40)
    command = ["serve", "--port", str(port), "--config", str(write_config(tmp_path)), "--database-url", database_url]
    return subprocess.Popen([sys.executable, "-m", "opsdesk", *command, *options], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def served(tmp_path: Path, *options: str) -> list[dict[str, Any]]:
    """The log lines of a ``serve`` on a SQLite file asked once for a page it does not have, with an email in the
    query (a path no other change makes public or private)."""
    port = free_port()
    server = serve(tmp_path, f"sqlite:///{tmp_path}/opsdesk.db", port, *options)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base) or server.poll() is not None)
        assert httpx.get(f"{base}/no-such-page", params={"email": EMAIL}).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert EMAIL not in stderr.decode()
    return [json.loads(line) for line in stderr.decode().splitlines()]


def wait_for(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def failed(db: SqlDatabase) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM deliveries WHERE status = 'failed'")).scalar_one() == 1


def process_pending_batch(db: SqlDatabase, clock: ManualClock) -> None:
    """The pending deliveries as one batch in one transaction, as the worker first tries them."""
    pipeline = Pipeline(starter_playbooks(), lambda _s: ShopDefaults())
    with db.unit_of_work() as uow:
        pending = uow.deliveries.pending(10, after_id=0)
        uow.deliveries.claim_pending([stored.id for stored in pending])
        pipeline.apply(uow, pipeline.prepare(pending), clock.now())
        uow.commit()


@pytest.mark.postgres
def test_serve_logs_json_lines_naming_the_refused_and_failed_deliveries_without_their_bodies(
    tmp_path: Path, pg_db: SqlDatabase, pg_url: str
) -> None:
    port = free_port()
    server = serve(tmp_path, pg_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base) or server.poll() is not None)
        unstorable = order(1, "#1001")
        unstorable["headers"]["X-Shopify-API-Version"] = "2026-07-" + "x" * 30  # stored in 32 characters
        codes = [httpx.post(f"{base}/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code
                 for d in (unstorable, order(2, LONG_NAME))]
        wait_for(lambda: failed(pg_db))
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)

    said = stderr.decode()
    assert codes == [422, 200], said[-2000:]
    lines = [json.loads(line) for line in said.splitlines()]  # every line is a JSON object
    assert any(line["logger"] == "uvicorn.error" and "Uvicorn running on" in line["message"] for line in lines)
    errors = [{k: line[k] for k in line if k != "time"} for line in lines if line["level"] == "ERROR"]
    with pg_db.engine.connect() as conn:
        failed_id = conn.execute(text("SELECT id FROM deliveries WHERE status = 'failed'")).scalar_one()
    assert errors == [
        {"level": "ERROR", "logger": "opsdesk.services.intake", "shop": SHOP, "webhook_id": "w-1",
         "topic": "orders/create",
         "message": f"delivery w-1 of {SHOP} refused by the database: "
                    "refused by the database: value too long for type character varying(32)"},
        {"level": "ERROR", "logger": "opsdesk.services.refusals", "delivery_id": failed_id,
         "message": f"delivery {failed_id} refused by the database; marked failed: "
                    "refused by the database: value too long for type character varying(64)"},
    ]
    assert EMAIL not in said and LONG_NAME not in said and '"line_items"' not in said


def test_serve_logs_a_request_only_with_access_log_once_without_its_query(tmp_path: Path) -> None:
    quiet = served(tmp_path)
    logged = served(tmp_path, "--access-log")

    assert [line for line in quiet if line["logger"] == "uvicorn.access"] == []
    access = [{k: v for k, v in line.items() if k not in ("time", "client", "message")}
              for line in logged if line["logger"] == "uvicorn.access" and line["path"] != "/healthz"]
    assert access == [{"level": "INFO", "logger": "uvicorn.access", "method": "GET", "path": "/no-such-page",
                       "status": 404}]
    for lines in (quiet, logged):  # uvicorn's own lines, each once (its handler is ours, not added to it)
        running = [line for line in lines if line["message"].startswith("Uvicorn running on")]
        assert [line["logger"] for line in running] == ["uvicorn.error"]


@pytest.mark.postgres
def test_a_refused_write_logged_with_its_traceback_leaves_the_statement_s_values_out(
    pg_db: SqlDatabase,
) -> None:
    """The driver's error under a refusal carries the statement's values (the customer's email among them):
    the engine leaves them out (``hide_parameters``), so a traceback in the logs (``log.exception``) does too."""
    clock = ManualClock()
    feed(pg_db, [order(3, LONG_NAME)], clock)
    with pytest.raises(DataRefused) as refused:
        process_pending_batch(pg_db, clock)
    exc = refused.value
    record = logging.makeLogRecord({"name": "opsdesk", "levelname": "ERROR", "msg": "pipeline batch failed",
                                    "exc_info": (DataRefused, exc, exc.__traceback__)})

    line = orjson.loads(logs.JsonFormatter().format(record))
    assert line["exc_info"].endswith(
        "DataRefused: refused by the database: value too long for type character varying(64)"
    )
    assert "INSERT INTO orders" in line["exc_info"]  # the statement is there, to say what was refused
    assert EMAIL not in line["exc_info"] and LONG_NAME not in line["exc_info"]
