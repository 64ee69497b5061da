"""Probing the shops' pages over real HTTP: the probe itself, and the worker's daily job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opsdesk.background import Background
from opsdesk.connectors.storefront import PageProbe
from opsdesk.readiness.evidence import probe_due
from opsdesk.testing import ManualClock
from tests.integration.desk_harness import make_desk
from tests.integration.test_check_cli import storefront  # noqa: F401  (the fixture: a local HTTP server)
from tests.ports import free_port
from tests.samples import SHOP


def test_the_probe_times_a_page_follows_redirects_and_never_raises(storefront: str) -> None:  # noqa: F811
    probe = PageProbe(timeout=5)
    ok = probe(f"{storefront}/")
    assert ok.status_code == 200 and ok.elapsed_ms is not None and ok.error == ""
    assert probe(f"{storefront}/missing").status_code == 404
    closed = free_port()  # a port nobody listens on
    refused = probe(f"http://127.0.0.1:{closed}/")
    assert (refused.status_code, refused.error.split(":")[0]) == (None, "ConnectError")
    assert probe("not a url").error != ""


def test_the_worker_probes_each_page_once_a_day(
    storefront: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock()
    desk = make_desk(
        tmp_path,
        monkeypatch,
        clock=clock,
        shops=[
            {"domain": SHOP, "storefront_url": f"{storefront}/", "returns_policy_url": f"{storefront}/gone"}
        ],
    )
    background = Background(desk, pipeline=False)
    background.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with desk.db.unit_of_work(read_only=True) as uow:
                found = uow.readiness.latest_probe("returns_policy", SHOP)
            if found is not None:
                break
            time.sleep(0.05)
    finally:
        background.close()
    assert found is not None and (found.status_code, found.at) == (404, clock.now())
    assert desk.page_probe is not None
    clock.advance(hours=23)
    assert probe_due(desk.db, desk.settings, desk.page_probe, desk.clock) == 0
    clock.advance(hours=1)
    assert probe_due(desk.db, desk.settings, desk.page_probe, desk.clock) == 2
