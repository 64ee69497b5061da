"""`opsdesk demo --no-serve`: a fresh folder, a simulated day, the scorecard and a login, in one command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """
name: demo-test
seed: 2
start: 2026-11-23T05:00:00Z
history: 1d
duration: 16h
follow: 2h
store: {orders_per_day: 25, products: 10}
delivery: {tick: 10m}
staffing: {people: [alice], pace: 20m}
incidents:
  - {kind: payment_gateway_stall, at: "10:00", duration: 2h}
"""


def opsdesk(
    *args: str, cwd: Path, columns: int = 160, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")} | {"COLUMNS": str(columns)}
    env |= extra_env or {}
    command = [sys.executable, "-m", "opsdesk", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_demo_inits_a_folder_runs_a_day_and_prints_the_scorecard_and_a_login(tmp_path: Path) -> None:
    (tmp_path / "day.yaml").write_text(SCENARIO)
    done = opsdesk(
        "demo", "shop", "--no-serve", "--scenario", str(tmp_path / "day.yaml"), cwd=tmp_path, columns=80
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "shop"
    assert (folder / "opsdesk.yaml").is_file() and (folder / "playbooks").is_dir()
    assert (folder / "opsdesk.db").is_file() and (folder / "opsdesk.db.truth.json").is_file()
    assert "scorecard: demo-test (seed 2)" in done.stdout
    assert "dashboard login:" in done.stdout
    # read whole in an 80-column terminal (or piped): nothing cut to "…", the incident's row on one line
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in done.stdout
    row = next(line for line in lines if line.strip().startswith("payment gateway stall "))
    assert re.fullmatch(r"10:00 (\d+h\d\dm|\d+m(\d\ds)?|NOT caught|no order harmed) .+", " ".join(row.split()[3:])), row
    truth = json.loads((folder / "opsdesk.db.truth.json").read_text())
    assert truth["scenario"] == "demo-test" and truth["deliveries"] > 100


@pytest.mark.parametrize("fmt", ["json"])
def test_demo_again_starts_from_a_fresh_database(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "day.yaml").write_text(SCENARIO)
    cards = []
    for _ in range(2):
        done = opsdesk(
            "demo",
            "shop",
            "--no-serve",
            "--format",
            fmt,
            "--scenario",
            str(tmp_path / "day.yaml"),
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        cards.append(json.loads(done.stdout))
    first, second = ({k: v for k, v in c.items() if k not in ("run", "login")} for c in cards)
    # The text shows shares from the counts: 142 of 157 is 90.4 %, though the JSON's rate (4 places) is 0.9045.
    from rich.console import Console

    from opsdesk.cli_scorecard import print_scorecard

    card = json.loads(json.dumps(cards[0]))
    card["automation"] |= {"automated": 142, "escalated": 15, "rate": 0.9045}
    card["automation"] |= {"routine_orders": 157, "routine_orders_without_a_case": 142, "routine_rate": 0.9045}
    console = Console(record=True, width=160)
    print_scorecard(card, console)
    text = console.export_text()
    assert "90.4% of decisions" in text and "90.4% (142 of 157)" in text, text
    assert first == second  # nothing of the first run is left: the same seed scores the same
    assert cards[0]["login"]["password"] != cards[1]["login"]["password"]


def test_demo_serves_its_day_on_a_clock_that_resumes_where_the_day_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served on the wall clock, days after the simulated day, the desk would breach every SLA and fire
    every timer of the day at once; it goes on from the day's end instead, at the wall clock's pace."""
    from datetime import datetime, timedelta

    from typer.testing import CliRunner

    import opsdesk.cli
    from opsdesk.app import settings_clock
    from opsdesk.cli import cli

    served: dict[str, object] = {}
    monkeypatch.setattr(
        opsdesk.cli, "run_server", lambda settings, **kw: served.update(kw, settings=settings)
    )
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("OPSDESK_")]:
        monkeypatch.delenv(name)
    (tmp_path / "day.yaml").write_text(SCENARIO)
    done = CliRunner().invoke(
        cli, ["demo", "shop", "--scenario", str(tmp_path / "day.yaml"), "--port", "8765"]
    )
    assert done.exit_code == 0, done.output
    ended = datetime.fromisoformat("2026-11-23T05:00:00+00:00") + timedelta(hours=16 + 2)  # duration + follow
    assert f"resumes at the simulated day's end: {ended.isoformat()}" in done.output
    assert served["port"] == 8765 and served["stand_ins"] is True
    now = settings_clock(served["settings"]).now()  # type: ignore[arg-type]
    assert ended <= now < ended + timedelta(minutes=5)


def test_commands_in_the_demo_folder_go_on_from_the_simulated_day_as_the_server_does(tmp_path: Path) -> None:
    """ADR 0043: `opsdesk check` in the demo's folder (the README's tour) measured on the wall clock, days after
    the simulated day, failed controls the scorecard had passed (follow-ups late, pages not probed for days)."""
    from datetime import datetime, timedelta

    (tmp_path / "day.yaml").write_text(SCENARIO)
    done = opsdesk(
        "demo",
        "shop",
        "--no-serve",
        "--format",
        "json",
        "--scenario",
        str(tmp_path / "day.yaml"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    card = json.loads(done.stdout)
    ended = datetime.fromisoformat(card["day"]["followed_until"])
    folder = tmp_path / "shop"
    env = {"OPSDESK_SHOPIFY_SECRET": "demo-secret", "OPSDESK_SHOPIFY_ACCESS_TOKEN": "stand-in-token"}  # the README's
    checked = opsdesk("check", "--no-probe", "--format", "json", cwd=folder, extra_env=env)
    assert checked.returncode in (0, 1), checked.stderr
    report = json.loads(checked.stdout)
    assert ended <= datetime.fromisoformat(report["at"]) < ended + timedelta(minutes=5)
    assert report["failed"] == card["readiness"]["failed"]
