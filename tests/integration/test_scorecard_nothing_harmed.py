"""An incident that harmed no order is not reported as missed.

A label API outage in a store with no delivered order yet injects no return: nothing needed a label, and
nothing could be caught. The scorecard printed it in red as "NOT caught", at risk 0.00, beside the incidents
the desk really missed; an ops lead reads that as a blind spot of the desk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.desk_harness import write_config
from tests.integration.test_simulate_used_database import TINY
from tests.samples import SECRET

#: A day of orders placed in it: none is delivered yet, so no return needs a label while the label API is down.
DAY = TINY + 'incidents:\n  - {kind: label_api_outage, at: "09:00", duration: 2h}\n'


def _simulate(folder: Path, fmt: str) -> str:
    folder.mkdir()
    write_config(folder)
    (folder / "day.yaml").write_text(DAY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "120"}
    command = [sys.executable, "-m", "opsdesk", "simulate", "--scenario", str(folder / "day.yaml"), "--format", fmt,
               "--config", str(folder / "opsdesk.yaml"), "--database-url", f"sqlite:///{folder / 'day.db'}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_an_incident_that_harmed_nothing_reads_as_such_not_as_missed(tmp_path: Path) -> None:
    card = json.loads(_simulate(tmp_path / "json", "json"))
    [outage] = card["incidents"]
    assert (outage["affected_orders"], outage["money_at_risk_total"], outage["caught"]) == (0, "0", False)

    text = _simulate(tmp_path / "text", "text")
    row = next(line for line in text.splitlines() if line.strip().startswith("label api outage"))
    assert row.split() == ["label", "api", "outage", "09:00", "no", "order", "harmed", "-", "0.00"]
    assert "NOT caught" not in text and "incidents: 0 of 1 caught (1 harmed no order)" in text
