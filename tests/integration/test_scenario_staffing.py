"""A scenario's staffing as written: a night shift works at night through a real run; nonsense is refused at its
line by ``opsdesk simulate`` (exit 2) before anything is written.

The audit of session 13 found ``staffing.pace: 0s`` run as the default pace, a shift ending before its start
accepted and then never worked (``22:00-06:00``: nobody took a case all day), and an empty file run as the defaults.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.config import load_settings
from opsdesk.simulator.scenario import load_scenario
from tests.integration.desk_harness import write_config
from tests.samples import SECRET

NIGHT = """\
name: night
seed: 5
start: 2026-11-23T05:00:00Z
history: 1d
duration: 1d
follow: 12h
store: {orders_per_day: 30, products: 10}
delivery: {tick: 10m}
staffing:
  people: [carol]
  pace: 90m  # slow enough that the day's cases last her past midnight
  shift: "22:00-06:00"
incidents:  # cases for them to work, opened all day long
  - {kind: fraud_false_positive, at: "00:00", duration: 1d, share: 0.5}
"""


def test_a_night_shift_takes_cases_only_at_night_on_both_sides_of_midnight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsdesk.cli_simulate import run_in_process

    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    (tmp_path / "night.yaml").write_text(NIGHT)
    scenario = load_scenario(tmp_path / "night.yaml")
    settings = load_settings(str(write_config(tmp_path)), f"sqlite:///{tmp_path}/day.db")
    card = run_in_process(settings, scenario, SECRET, fmt="json")
    with sqlite3.connect(tmp_path / "day.db") as db:
        started = [datetime.fromisoformat(at).replace(tzinfo=scenario.start.tzinfo) for (at,) in db.execute(
            "SELECT at FROM case_changes WHERE kind = 'started' AND actor = 'carol'")]
    hours = sorted({((at - scenario.start) % timedelta(days=1)) // timedelta(hours=1) for at in started})
    assert started and card["people"]["resolved"] > 0
    assert set(hours) <= {22, 23, 0, 1, 2, 3, 4, 5}, hours  # local hours of the shop's day
    assert {22, 23} & set(hours) and {0, 1, 2, 3, 4, 5} & set(hours)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("name: x\nstaffing:\n  pace: 0s\n  shift: '08:00-08:00'\n",
         ["bad.yaml:3:9: expected a pace above 0, like 12m, got '0s'",
          "bad.yaml:4:10: expected a shift between two different times of day from 00:00 to 24:00, like 08:00-18:00 "
          "(or 22:00-06:00, ending the next day), got '08:00-08:00'"]),
        ("# a day, to fill in\n",
         ["bad.yaml:1:1: the scenario is empty: expected a mapping of its keys (carrier_trouble, delivery, "
          "description, duration, follow, history, incidents, name, seed, shop, staffing, start, store; "
          "docs/reference/scenarios.md)"]),
        ("name: x\ncarrier_trouble:\n  buyer_action: 1.5\n  pickup_point: 0.1\n",
         ["bad.yaml:3:17: expected a share between 0 and 1, got 1.5",
          "bad.yaml:4:3: unknown key 'pickup_point' (expected one of: attempted_delivery, buyer_action, buyer_acts, "
          "pickup, returned_to_sender)"]),
    ],
)
def test_simulate_refuses_nonsense_staffing_or_shares_and_an_empty_file_at_their_line_writing_nothing(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    write_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200"}
    command = [sys.executable, "-m", "opsdesk", "simulate", "--scenario", "bad.yaml", "--config", "opsdesk.yaml",
               "--database-url", f"sqlite:///{tmp_path / 'day.db'}"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == ["error: scenario has problems:", *problems]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "opsdesk.yaml"]
