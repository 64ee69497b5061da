"""A simulated store through the real desk (SQLite file, stand-ins, virtual clock): the scorecard."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.config import load_settings
from opsdesk.simulator.scenario import Incident, Scenario, Staffing
from opsdesk.simulator.truth import load_truth, truth_path
from tests.integration.desk_harness import write_config
from tests.ports import free_port, wait_until_healthy
from tests.samples import SECRET

START = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
TINY = Scenario(
    name="tiny",
    seed=5,
    start=START,
    history=timedelta(days=1),
    duration=timedelta(hours=20),
    follow=timedelta(hours=6),
    orders_per_day=30,
    products=10,
    tick=timedelta(minutes=10),
    staffing=Staffing(people=("alice", "bob", "carol"), pace=timedelta(minutes=20)),
    incidents=(
        Incident("payment_gateway_stall", timedelta(hours=10), timedelta(hours=3), {"share": 1.0}),
        Incident(
            "discount_misconfigured",
            timedelta(hours=9),
            timedelta(hours=6),
            {"code": "OOPS", "percent": 90.0, "intended_percent": 10.0, "uptake": 0.6},
        ),
    ),
)


def run(
    directory: Path, monkeypatch: pytest.MonkeyPatch, scenario: Scenario = TINY, *, ahead: bool = True
) -> dict[str, Any]:
    from opsdesk.cli_simulate import run_in_process

    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    directory.mkdir()
    settings = load_settings(str(write_config(directory)), f"sqlite:///{directory}/opsdesk.db")
    return run_in_process(settings, scenario, SECRET, fmt="json", ahead=ahead)


def stable(card: dict[str, Any]) -> dict[str, Any]:
    """The scorecard without the wall-clock figures of the run."""
    return {k: v for k, v in card.items() if k != "run"}


def test_the_same_seed_gives_the_same_scorecard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run(tmp_path / "a", monkeypatch)
    second = run(tmp_path / "b", monkeypatch)
    assert stable(first) == stable(second)
    assert first["deliveries"]["sent"] > 200 and first["run"]["refused"] == 0
    assert first["run"]["pipeline"]["failed"] == 0
    assert first["max_unowned"] == 0
    assert first["people"]["resolved"] > 0 and first["cases"]["resolved"] == first["people"]["resolved"]
    stall = next(i for i in first["incidents"] if i["kind"] == "payment_gateway_stall")
    assert stall["affected_orders"] > 0
    truth = load_truth(truth_path(f"sqlite:///{tmp_path}/a/opsdesk.db"))  # type: ignore[arg-type]
    assert truth.orders == first["deliveries"]["orders"] and truth.digest == first["deliveries"]["digest"]


def test_intake_done_ahead_in_the_stores_process_gives_the_same_scorecard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADR 0023: verify, parse and normalise in the store's process or at the desk, the run is the same
    (duplicates, requeued deliveries waiting for their order and the desk's own signals included)."""
    busy = replace(TINY, duplicate_share=0.2, reorder_share=0.3)
    ahead = run(tmp_path / "a", monkeypatch, busy)
    at_the_desk = run(tmp_path / "b", monkeypatch, busy, ahead=False)
    assert stable(ahead) == stable(at_the_desk)
    del ahead["run"]["seconds"], at_the_desk["run"]["seconds"]
    assert ahead["run"] == at_the_desk["run"]  # the pipeline's counts: events, decisions, waiting, ...
    assert ahead["deliveries"]["duplicates"] > 0 and ahead["run"]["pipeline"]["requeued"] > 0


def test_a_caught_incident_has_its_time_to_detect_and_money_at_risk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = run(tmp_path / "a", monkeypatch)
    # The mistaken discount exists at the Shopify stand-in, so its pause is carried out, not rejected.
    assert "automation_failure" not in card["cases_by_kind"]
    assert next(i for i in card["incidents"] if i["kind"] == "discount_misconfigured")["caught"]
    for incident in card["incidents"]:
        if incident["caught"]:
            detected = datetime.fromisoformat(incident["detected_at"])
            assert detected >= datetime.fromisoformat(incident["start"])
            assert (
                incident["time_to_detect_seconds"]
                == (detected - datetime.fromisoformat(incident["start"])).total_seconds()
            )
            assert 0 <= float(incident["money_at_risk_when_caught"]) <= float(incident["money_at_risk_total"])
        else:
            assert incident["time_to_detect_seconds"] is None and incident["caught_by"] is None


def test_over_http_every_delivery_is_acknowledged_and_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    import subprocess
    import sys

    from opsdesk.simulator.over_http import over_http
    from opsdesk.simulator.store import Store

    config = write_config(tmp_path)
    port = free_port()
    env = {"OPSDESK_SHOPIFY_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opsdesk",
            "serve",
            "--port",
            str(port),
            "--no-worker",
            "--config",
            str(config),
            "--database-url",
            f"sqlite:///{tmp_path}/http.db",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", attempts=100)
        store = Store(replace(TINY, incidents=(), follow=timedelta(hours=1)), SECRET)
        stats = over_http(store, f"http://127.0.0.1:{port}", None)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert stats.deliveries == store.truth.deliveries > 200 and stats.refused == 0
    with sqlite3.connect(tmp_path / "http.db") as db:
        stored = db.execute("SELECT count(*) FROM deliveries WHERE topic NOT LIKE 'opsdesk/%'").fetchone()[0]
    assert stored == store.truth.deliveries - store.truth.duplicates  # a retried delivery is stored once
