"""The demo's day for a shop whose domain is as long as Shopify's can be, on PostgreSQL: nothing is refused.

A shop's handle is a DNS label (at most 63 characters), its domain ``<handle>.myshopify.com`` 77. The ids
the monitors and playbooks build from it (cases, decisions, outbox actions, timers, audit subjects) must
fit their columns: PostgreSQL refuses a longer value, and with it the whole transaction (SQLite stores it).
The shipped ``demo`` scenario, with one of every incident kind, runs through the real composition root and
the stand-ins as in ``test_demo_day``, for that shop, on a PostgreSQL schema of its own: with 3 days of orders
before the scored day rather than 7 (a third of the work), which still catches all 7 incidents and opens the
monitors' cases the assertions name; 2 days missed the warehouse backlog.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk import app as composition
from opsdesk.cli_demo import prepare
from opsdesk.cli_simulate import DEMO_SECRET, run_in_process
from opsdesk.config import load_settings
from opsdesk.domain.records import CaseFilter
from opsdesk.simulator.run_state import VirtualClock
from opsdesk.simulator.scenario import load_scenario

pytestmark = pytest.mark.postgres

LONG_SHOP = "the-longest-store-handle-a-shop-can-have-is-a-dns-label-of-63ch.myshopify.com"


@pytest.fixture
def day(tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[dict[str, Any], Any]]:
    plan = replace(load_scenario("demo"), shop=LONG_SHOP, follow=timedelta(0), history=timedelta(days=3))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("OPSDESK_AUDIT_KEY", "OPSDESK_AUDIT_PREVIOUS_KEY", "OPSDESK_CONFIG", "OPSDESK_DATABASE_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("OPSDESK_SHOPIFY_SECRET", DEMO_SECRET)
        with contextlib.redirect_stdout(None):
            prepare(tmp_path, pg_url, plan)
        config = tmp_path / "opsdesk.yaml"
        config.write_text(config.read_text().replace("demo-store.myshopify.com", LONG_SHOP))
        settings = load_settings(str(config), pg_url)
        assert settings.shop(LONG_SHOP) is not None
        with caplog.at_level(logging.WARNING):
            card = run_in_process(settings, plan, DEMO_SECRET, fmt="json")
        yield card, composition.build(settings, clock=VirtualClock(plan.end))


def test_a_day_of_the_shop_with_the_longest_domain_is_worked_whole_on_postgresql(
    day: tuple[dict[str, Any], Any], caplog: pytest.LogCaptureFixture
) -> None:
    card, desk = day
    refused = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert refused == []
    assert card["caught"] == "7 of 7", card["incidents"]
    assert card["unneeded_escalations"]["count"] == 0 and card["max_unowned"] == 0
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.deliveries.count("failed") == 0
        cases = uow.cases.search(CaseFilter(active_only=False), 1000)
    assert {c.shop for c in cases} == {LONG_SHOP}
    # The monitors that build their ids from the shop's domain opened their cases, and the playbooks theirs.
    sources = {c.source for c in cases if c.source.startswith("monitor:")}
    assert {"monitor:stuck-order", "monitor:delayed-fulfilment", "monitor:return-labels"} <= sources, sources
    assert any(c.source.startswith("decision:") for c in cases)
