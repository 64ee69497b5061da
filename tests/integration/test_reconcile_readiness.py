"""Reconciliation that cannot run fails a readiness control, and is logged once per outage, not once a minute.

Before, a desk without an Admin API access token logged a WARNING at every try (each minute), ``opsdesk check``
showed only a ``warn`` and no control failed: lost webhooks went unnoticed. The worker's own step
(``Desk.reconcile_due``) over the real Shopify connector and a stand-in Admin API over HTTP; ``opsdesk check``
as a real process on the same SQLite file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.desk_harness import write_config
from tests.integration.test_cli import opsdesk
from tests.samples import SECRET, SHOP

TOKEN = "shpat_reconcile"
VARIABLE = "OPSDESK_SHOPIFY_ACCESS_TOKEN"


def control(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    result = opsdesk("check", "--no-probe", "--format", "json", *where, cwd=tmp_path, env=env)
    [found] = [c for c in json.loads(result.stdout)["controls"] if c["control"] == "webhooks-reconciled"]
    return dict(found)


def test_sweeps_without_a_token_fail_the_control_once_logged_and_it_passes_once_they_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        base = fake.url_for(SHOP).split("/shops/")[0] + "/shops/{shop}"
        config = write_config(tmp_path, playbooks="none", connectors={"shopify": {"base_url": base}})
        monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
        monkeypatch.delenv(VARIABLE, raising=False)
        clock = ManualClock()
        desk = composition.build(load_settings(str(config), f"sqlite:///{tmp_path}/opsdesk.db"), clock=clock)
        reconciler = desk.reconciler()
        assert reconciler is not None
        with caplog.at_level(logging.DEBUG, logger="opsdesk"):
            for _ in range(3):  # the worker tries each minute while the shop's sweep is due
                [report] = desk.reconcile_due(reconciler)
                assert not report.ok and "no Admin API access token" in (report.error or "")
                clock.advance(minutes=1)
        warned = [
            r for r in caplog.records if r.levelno >= logging.WARNING and "reconciliation" in r.getMessage()
        ]
        assert len(warned) == 1, [r.getMessage() for r in warned]
        failing = control(tmp_path, {VARIABLE: ""})
        assert failing["status"] == "fail", failing
        assert (
            failing["offending"][0]["id"] == SHOP
            and "no Admin API access token" in failing["offending"][0]["detail"]
        )

        monkeypatch.setenv(VARIABLE, TOKEN)
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
    assert control(tmp_path, {VARIABLE: TOKEN})["status"] == "pass"
