"""The same seed gives the same scorecard in separate processes, whatever Python's hash seed.

Python randomises the iteration order of sets of strings per process (PYTHONHASHSEED); anything the desk
or the simulator decided in that order (which case opens first, which timer fires first) would make two
runs of one seed differ. The in-process test in test_simulator_run.py cannot see that: both of its runs
share one hash seed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.desk_harness import write_config
from tests.samples import SECRET

SCENARIO = """\
name: hash-seed
seed: 11
shop: demo-store.myshopify.com
start: 2026-11-23T05:00:00Z
history: 1d
duration: 1d
follow: 12h
store: {orders_per_day: 60, products: 12, returns_share: 0.1, disputes_share: 0.02}
delivery: {duplicate_share: 0.05, reorder_share: 0.1, tick: 10m}
staffing: {people: [alice, bob, carol], pace: 20m, shift: "08:00-18:00"}
incidents:
  - {kind: discount_misconfigured, at: "09:00", duration: 3h, code: OOPS, percent: 90.0}
  - {kind: overselling, at: "11:00", duration: 4h, share: 0.5, stock: 2}
  - {kind: payment_gateway_stall, at: "15:00", duration: 45m}
"""


def _simulate(directory: Path, hash_seed: str) -> dict[str, Any]:
    directory.mkdir()
    config = write_config(directory)
    scenario = directory / "scenario.yaml"
    scenario.write_text(SCENARIO)
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OPSDESK_SHOPIFY_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "opsdesk", "simulate", "--scenario", str(scenario), "--format", "json",
         "--config", str(config), "--database-url", f"sqlite:///{directory / 'opsdesk.db'}"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    card: dict[str, Any] = json.loads(done.stdout)
    return card


def test_two_processes_with_different_hash_seeds_give_the_same_scorecard(tmp_path: Path) -> None:
    first = _simulate(tmp_path / "a", "1")
    second = _simulate(tmp_path / "b", "2")
    assert first["run"]["pipeline"]["decisions"] > 300 and first["cases"]["total"] > 0  # it did something
    assert first["run"]["pipeline"]["held"] == 0 and first["caught"] == "3 of 3"
    first["run"].pop("seconds"), second["run"].pop("seconds")
    assert first == second
