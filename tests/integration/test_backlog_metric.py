"""``opsdesk_case_backlog`` as Prometheus scrapes it (ADR 0035): on a worker's metrics port as on ``serve``'s
``/metrics``, read from the database by the same function, at most once every ``BACKLOG_MAX_AGE`` seconds
whoever scrapes and however often."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from opsdesk.background import Background
from opsdesk.desk import Desk
from opsdesk.domain.records import CaseRecord
from opsdesk.metrics import BACKLOG_MAX_AGE, BacklogGauge, Metrics
from opsdesk.ports import Database
from opsdesk.services.desk_metrics import queue_backlog
from opsdesk.services.effects import QUEUE_KINDS
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.web.app import create_app
from opsdesk.web.metrics_port import MetricsPort
from tests.integration.desk_harness import make_desk
from tests.integration.metrics_harness import config_on_disk, metrics_url, scrape_serve, series, start, stop
from tests.samples import SHOP

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
EVERY_QUEUE = dict.fromkeys(sorted(QUEUE_KINDS), 0.0)


def open_cases(db: Database, *queues: str, status: str = "open") -> None:
    with db.unit_of_work() as uow:
        for n, queue in enumerate(queues):
            uow.cases.open(
                CaseRecord(f"{status}-{queue}-{n}", SHOP, "refund", queue, "t", "r", NOW, status=status)
            )
        uow.commit()


def backlog(text: str) -> dict[str, float]:
    return series(text, "opsdesk_case_backlog", "queue")


def test_a_worker_exports_the_case_backlog_of_every_queue_as_serve_does(tmp_path: Path) -> None:
    with config_on_disk(tmp_path) as (directory, db, _):
        open_cases(db, "refunds", "refunds", "disputes", "vip")
        open_cases(db, "refunds", status="resolved")  # ended: not in the backlog
        worker = start(directory, "worker", "--metrics-port", "0", token=None)
        try:
            from_worker = backlog(httpx.get(metrics_url(worker)).text)
        finally:
            stop(worker)
        from_serve = backlog(scrape_serve(directory))
    # Every queue the playbooks escalate to, at 0 when empty; a queue neither they nor the organisation
    # name ("vip") is not one the gauge asks about, on serve as on the worker.
    assert from_worker == {**EVERY_QUEUE, "refunds": 2.0, "disputes": 1.0}
    assert from_serve == from_worker


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.delenv("OPSDESK_METRICS_TOKEN", raising=False)
    desk = make_desk(tmp_path, monkeypatch)
    yield desk
    desk.db.dispose()  # type: ignore[attr-defined]  # the SQL database of the composition root


def counting_queries(db: Database) -> list[str]:
    """Every statement that counts cases, as the database is sent it from now on."""
    seen: list[str] = []

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "count(" in statement.lower() and "cases" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)  # type: ignore[attr-defined]
    return seen


def test_scrapes_within_the_max_age_ask_the_database_once_on_the_worker_port_and_on_serve(desk: Desk) -> None:
    open_cases(desk.db, "refunds", "pricing")
    queries = counting_queries(desk.db)
    with (
        MetricsPort(desk, Background(desk), "127.0.0.1", 0) as port,
        TestClient(create_app(desk, background=False)) as client,
    ):
        scrapes = [httpx.get(port.url).text if n % 2 else client.get("/metrics").text for n in range(6)]
    assert len(queries) == len(QUEUE_KINDS)  # one count per queue, once for the six scrapes
    assert {tuple(sorted(backlog(s).items())) for s in scrapes} == {
        tuple(sorted({**EVERY_QUEUE, "refunds": 1.0, "pricing": 1.0}.items()))
    }


def test_a_count_older_than_the_max_age_is_asked_again_and_concurrent_scrapes_share_one(desk: Desk) -> None:
    seconds = [100.0]
    counted: list[dict[str, int]] = []

    def count() -> dict[str, int]:
        time.sleep(0.2)  # long enough for every scrape below to arrive while it runs
        counted.append(desk.case_backlog())
        return counted[-1]

    gauge = BacklogGauge(count, max_age=15.0, monotonic=lambda: seconds[0])
    scrapes: list[dict[str, float]] = []
    threads = [threading.Thread(target=lambda: scrapes.append(backlog_of(gauge))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    open_cases(desk.db, "refunds")
    seconds[0] += 14.9
    assert backlog_of(gauge)["refunds"] == 0.0  # still the count of 14.9 s ago
    seconds[0] += 0.1
    assert backlog_of(gauge)["refunds"] == 1.0
    assert len(counted) == 2 and scrapes == [dict.fromkeys(EVERY_QUEUE, 0.0)] * 5


def backlog_of(gauge: BacklogGauge) -> dict[str, float]:
    return {s.labels["queue"]: s.value for family in gauge.collect() for s in family.samples}


def test_the_backlog_is_left_out_while_the_database_is_away_and_asked_again_after_the_max_age(
    desk: Desk,
) -> None:
    away = SqlDatabase(create_sql_engine("postgresql+psycopg://opsdesk@127.0.0.1:1/test"))  # nothing listens
    databases: list[Database] = [away]
    asked: list[Database] = []

    def count() -> dict[str, int]:
        asked.append(databases[0])
        return queue_backlog(databases[0], ["refunds"])

    seconds, metrics = [0.0], Metrics()  # the desk's own registry has its gauge already
    metrics.registry.register(BacklogGauge(count, monotonic=lambda: seconds[0]))
    text = metrics.render().decode()
    assert "opsdesk_case_backlog" not in text  # left out, and the counters render all the same
    assert 'opsdesk_outbox_actions_total{outcome="sent"} 0.0' in text
    databases[0] = desk.db
    assert "opsdesk_case_backlog" not in metrics.render().decode()  # not asked again within the max age
    seconds[0] += BACKLOG_MAX_AGE
    assert 'opsdesk_case_backlog{queue="refunds"} 0.0' in metrics.render().decode()
    assert asked == [away, desk.db]
    away.dispose()


def test_a_scrape_waiting_for_the_database_does_not_hold_up_serve(desk: Desk) -> None:
    counting, release = threading.Event(), threading.Event()

    def count() -> dict[str, int]:
        counting.set()
        release.wait(10)  # a slow database: the count takes as long as the test says
        return {"refunds": 0}

    desk.metrics = Metrics()  # in place of the desk's, whose gauge asks the database
    desk.metrics.registry.register(BacklogGauge(count))
    with TestClient(create_app(desk, background=False)) as client:
        scrape = threading.Thread(target=lambda: client.get("/metrics"))
        scrape.start()
        assert counting.wait(10)
        started = time.monotonic()
        try:
            assert client.get("/healthz").status_code == 200  # answered while the scrape still counts
            assert time.monotonic() - started < 5
        finally:
            release.set()
            scrape.join()
