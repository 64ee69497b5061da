"""`opsdesk simulate` into a database that already holds a desk's work: refused, the database left as it was.

The scorecard counts every case of its database against the run's ground truth. Run a second time into the
same database (or into a store's own ``opsdesk.db``, the default), it counted the first run's cases as this
run's: "routine orders, no case -250.0% (-15 of 6)" and 21 "escalations not needed" for a day of 6 orders,
and it wrote the simulated store's orders and cases among the real ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.desk_harness import write_config
from tests.samples import SECRET

TINY = """
name: tiny
seed: 5
start: 2026-11-23T05:00:00Z
duration: 14h
follow: 1h
store: {orders_per_day: 40, products: 5}
delivery: {tick: 15m}
staffing: {people: [alice], pace: 20m}
"""


def _simulate(folder: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200"}
    command = [sys.executable, "-m", "opsdesk", "simulate", "--scenario", str(folder / "tiny.yaml"),
               "--config", str(folder / "opsdesk.yaml"), "--database-url", url, "--format", "json"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_run_into_the_same_database_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    database = tmp_path / "day.db"
    url = f"sqlite:///{database}"
    first = _simulate(tmp_path, url)
    assert first.returncode == 0, first.stderr[-2000:]
    truth = Path(f"{database}.truth.json")
    before = (_digest(database), _digest(truth))

    again = _simulate(tmp_path, url)

    assert again.returncode == 2, again.stdout[-2000:]
    assert again.stdout == ""
    error = json.loads(again.stderr.strip().splitlines()[-1])  # under --format json, the error is JSON (ADR 0060)
    assert error["exit_code"] == 2
    assert error["error"].startswith(f"{url} already holds a desk's work (")
    assert error["error"].endswith(
        "the scorecard would count it as this run's, and the simulated store's orders would mix with it: "
        "simulate into a new database (--database-url sqlite:///another.db)"
    )
    assert (_digest(database), _digest(truth)) == before
