"""Metrics as Prometheus scrapes them, over real HTTP on 127.0.0.1 (ADR 0035): ``opsdesk worker
--metrics-port`` serves the worker's own counters, which move as it works on a real SQLite file, and
``OPSDESK_METRICS_TOKEN`` makes ``/metrics`` ask for a bearer token, on the worker's port and on ``serve``."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opsdesk import __version__
from opsdesk.background import Background
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import Timer
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.replay import replay
from opsdesk.storage.sql import SqlDatabase
from opsdesk.web.metrics_port import MetricsPort
from tests.integration._servers import refund_action
from tests.integration.desk_harness import make_desk
from tests.integration.metrics_harness import TOKEN, config_on_disk, metrics_url, start, stop
from tests.ports import free_port
from tests.samples import SECRET, order_lifecycle

REFUSED: tuple[dict[str, str], ...] = (  # no header, a wrong token, the token in another scheme or in none
    {}, {"Authorization": "Bearer not-the-token"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
)
SERIES = {  # what the worker test reads, by the name it gives each series
    "sent": ("opsdesk_outbox_actions_total", "sent"),
    "failed": ("opsdesk_outbox_actions_total", "failed"),
    "cancelled": ("opsdesk_outbox_actions_total", "cancelled"),
    "withdrawn": ("opsdesk_outbox_actions_total", "withdrawn"),
    "fired": ("opsdesk_timers_total", "fired"),
    "timer_retried": ("opsdesk_timers_total", "retried"),
    "ignored": ("opsdesk_pipeline_deliveries_total", "ignored"),
    "processed": ("opsdesk_pipeline_deliveries_total", "processed"),
}


def samples(text: str) -> dict[str, float]:
    """The series of a scrape by the names of ``SERIES`` (one absent from the scrape is not in the result)."""
    found = {(s.name, s.labels.get("outcome") or s.labels.get("result")): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    return {name: found[key] for name, key in SERIES.items() if key in found}


def assert_refused_without_the_token(url: str) -> None:
    for headers in REFUSED:
        response = httpx.get(url, headers=headers)
        assert (response.status_code, response.headers.get("www-authenticate")) == (401, "Bearer"), headers
        assert response.json() == {"error": "/metrics needs the bearer token set in OPSDESK_METRICS_TOKEN"}
        assert "opsdesk_" not in response.text


@pytest.fixture
def desk_dir(tmp_path: Path) -> Iterator[tuple[Path, SqlDatabase, FakeShopifyAdmin]]:
    """A config on disk (no playbooks; Shopify is a stand-in over HTTP) and its migrated SQLite file."""
    with config_on_disk(tmp_path) as found:
        yield found


def give_work(db: SqlDatabase, now: datetime) -> None:
    """Three refunds for the stand-in, one action for a provider with no connector, three timers due (two
    about cases that are gone, one of a kind nobody handles) and six deliveries of one order."""
    refunds = [refund_action(order_id, at=now) for order_id in (11, 12, 13)]
    nowhere = replace(refund_action(14, at=now), provider="nowhere")
    timers = [Timer(f"moot-{n}", "sla_warning", f"gone-{n}", now, {"fraction": 0.5, "target": "resolve"})
              for n in (1, 2)] + [Timer("odd", "no_such_kind", "gone-3", now)]
    with db.unit_of_work() as uow:
        uow.outbox.add_many([*refunds, nowhere])
        uow.timers.schedule(timers)
        uow.commit()
    lines = [orjson.dumps(d) for d in order_lifecycle(1)[:6]]
    report = replay(lines, db.unit_of_work, secrets_for=lambda _: (SECRET,), is_known=lambda _: True,
                    max_bytes=1 << 20, now=lambda: now)
    assert report.stored == 6


def worked(after: dict[str, float], before: dict[str, float]) -> bool:
    """Whether the worker has done all of ``give_work`` (the two moot timers fired, the odd one retried)."""
    return (after["sent"] + after["failed"] >= 4 and after["ignored"] + after["processed"] >= 6
            and after["fired"] - before["fired"] >= 2 and after["timer_retried"] >= 1)


def test_the_worker_serves_its_own_counters_which_move_as_it_works_and_only_with_the_token(
    desk_dir: tuple[Path, SqlDatabase, FakeShopifyAdmin],
) -> None:
    directory, db, shopify = desk_dir
    worker = start(directory, "worker", "--metrics-port", "0")
    try:
        url = metrics_url(worker)
        assert url.startswith("http://127.0.0.1:")
        assert_refused_without_the_token(url)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        before = samples(httpx.get(url, headers=auth).text)
        assert {k: v for k, v in before.items() if k != "fired"} == dict.fromkeys(set(SERIES) - {"fired"}, 0.0)
        give_work(db, datetime.now(UTC))
        deadline = time.monotonic() + 30
        while not worked(after := samples(httpx.get(url, headers=auth).text), before):
            assert time.monotonic() < deadline, f"the counters did not move: {after}"
            time.sleep(0.1)
        assert (after["sent"], after["failed"], after["ignored"] + after["processed"]) == (3, 1, 6)
        assert httpx.get(url.replace("/metrics", "/healthz")).json() == {"status": "ok", "version": __version__}
    finally:
        stderr = stop(worker)
    assert len(shopify.effects) == 3, stderr
    with db.unit_of_work() as uow:
        assert (uow.outbox.count("sent"), uow.outbox.count("failed")) == (3, 1)


def test_serve_asks_for_the_token_on_metrics_only(desk_dir: tuple[Path, SqlDatabase, FakeShopifyAdmin]) -> None:
    directory, _, _ = desk_dir
    port = free_port()
    server = start(directory, "serve", "--no-worker", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{base}/healthz"):
            assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
            time.sleep(0.1)
        assert_refused_without_the_token(f"{base}/metrics")
        d = order_lifecycle(2)[0]
        assert httpx.post(f"{base}/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).is_success
        scrape = httpx.get(f"{base}/metrics", headers={"Authorization": f"bearer {TOKEN}"})
        assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
        assert 'opsdesk_intake_deliveries_total{outcome="stored"} 1.0' in scrape.text
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"  # health checks need no token
    finally:
        stop(server, ends=(0, -signal.SIGTERM))  # uvicorn ends by raising the signal again, once shut down


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.TransportError:
        return False


def test_a_metrics_port_without_a_token_answers_anyone_and_its_health_fails_when_a_thread_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSDESK_METRICS_TOKEN", raising=False)
    desk = make_desk(tmp_path, monkeypatch)
    background = Background(desk)  # not started: its threads are not running
    with MetricsPort(desk, background, "127.0.0.1", 0) as port:
        assert 'opsdesk_outbox_actions_total{outcome="sent"} 0.0' in httpx.get(port.url).text
        health = httpx.get(port.url.replace("/metrics", "/healthz"))
        assert health.status_code == 503
        assert health.json()["error"].startswith("worker threads stopped: opsdesk-pipeline, opsdesk-checkpoint")
        assert httpx.get(port.url.replace("/metrics", "/")).status_code == 404
        host, number = port.url.removeprefix("http://").removesuffix("/metrics").split(":")
        with pytest.raises(InvalidInput, match=f"metrics port 127.0.0.1:{number}: "):
            MetricsPort(desk, background, host, int(number))  # the port is taken
    desk.db.dispose()  # type: ignore[attr-defined]  # the SQL database of the composition root
