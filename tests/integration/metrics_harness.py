"""Processes of the desk as Prometheus scrapes them (ADR 0035): ``opsdesk worker`` and ``opsdesk serve`` started
on a configuration written to disk and a migrated SQLite file, with the Shopify stand-in over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from tests.ports import free_port
from tests.samples import SECRET, SHOP

TOKEN = "scrape-token-5f0c2a9e"


@contextmanager
def config_on_disk(directory: Path, **shop: Any) -> Iterator[tuple[Path, SqlDatabase, FakeShopifyAdmin]]:
    """A config in ``directory`` (no playbooks; the shop, with ``shop``'s settings, at the stand-in over HTTP)
    and its migrated SQLite file."""
    with FakeShopifyAdmin() as shopify:
        shopify.chaos(0.0)
        base = shopify.url_for(SHOP).split("/shops/")[0] + "/shops/{shop}"
        config = {
            "shops": [{"domain": SHOP, **shop}],
            "playbooks": "none",
            "outbox": {"poll_seconds": 0.05},
            "connectors": {"shopify": {"base_url": base, "timeout_seconds": 2}},
        }
        (directory / "opsdesk.yaml").write_text(yaml.safe_dump(config))
        engine = create_sql_engine(f"sqlite:///{directory}/opsdesk.db")
        migrate(engine)
        db = SqlDatabase(engine)
        yield directory, db, shopify
        db.dispose()


def start(
    directory: Path, *args: str, token: str | None = TOKEN, **environment: str
) -> subprocess.Popen[bytes]:
    """``opsdesk ARGS`` on the config and database in ``directory``, with ``environment`` set too."""
    env = {
        **os.environ,
        "OPSDESK_SHOPIFY_SECRET": SECRET,
        "OPSDESK_SHOPIFY_ACCESS_TOKEN": "shpat_metrics",
        **environment,
    }
    env.pop("OPSDESK_METRICS_TOKEN", None)
    if token is not None:
        env["OPSDESK_METRICS_TOKEN"] = token
    command = [
        sys.executable,
        "-m",
        "opsdesk",
        *args,
        "--config",
        str(directory / "opsdesk.yaml"),
        "--database-url",
        f"sqlite:///{directory}/opsdesk.db",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes], *, ends: tuple[int, ...] = (0,)) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode in ends, stderr.decode()[-2000:]
    return stderr.decode()


def metrics_url(worker: subprocess.Popen[bytes]) -> str:
    """The URL the worker says it serves its metrics at (it picked a free port: ``--metrics-port 0``)."""
    assert worker.stderr is not None
    seen: list[str] = []
    while (line := worker.stderr.readline().decode()) and len(seen) < 20:
        seen.append(line)
        if found := re.search(r"metrics on (http://\S+)", line):
            return found.group(1)
    pytest.fail(f"the worker never said where its metrics are: {seen}")


def scrape_serve(directory: Path, **environment: str) -> str:
    """One scrape of ``opsdesk serve --no-worker`` (no metrics token) on the config and database in ``directory``."""
    port = free_port()
    server = start(directory, "serve", "--no-worker", "--port", str(port), token=None, **environment)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics").raise_for_status().text
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.1)
    finally:
        stop(server, ends=(0, -signal.SIGTERM))  # uvicorn ends by raising the signal again, once shut down


def series(text: str, family: str, label: str) -> dict[str, float]:
    """The samples of one metric family of a scrape by the value of ``label`` (a counter's ``_total`` ones)."""
    return {
        s.labels[label]: s.value
        for found in text_string_to_metric_families(text)
        if found.name == family
        for s in found.samples
        if found.type != "counter" or s.name.endswith("_total")
    }
