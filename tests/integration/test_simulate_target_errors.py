"""`opsdesk simulate --target URL` when the desk there is down or checks another secret: one clear error.

A server that was not there stopped the command with httpx's ``ConnectError`` traceback; a server checking
another secret answered 401 to every one of the day's deliveries, and the command still exited 0, printing
``'not_accepted': 740`` in a Python dict as if that were a result.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.desk_harness import write_config
from tests.integration.test_simulate_used_database import TINY
from tests.ports import free_port, wait_until_healthy
from tests.samples import SECRET


def _simulate(folder: Path, target: str, secret: str) -> subprocess.CompletedProcess[str]:
    (folder / "day.yaml").write_text(TINY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_SHOPIFY_SECRET": secret, "COLUMNS": "300"}
    command = [sys.executable, "-m", "opsdesk", "simulate", "--scenario", str(folder / "day.yaml"),
               "--config", str(folder / "opsdesk.yaml"), "--target", target]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[str]:
    """A real `opsdesk serve` on 127.0.0.1, checking SECRET."""
    port = free_port()
    env = {"OPSDESK_SHOPIFY_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "opsdesk", "serve", "--port", str(port), "--no-worker",
               "--config", str(write_config(tmp_path)), "--database-url", f"sqlite:///{tmp_path}/desk.db"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_desk_that_is_not_there_is_named_without_a_traceback(tmp_path: Path) -> None:
    write_config(tmp_path)
    target = f"http://127.0.0.1:{free_port()}"
    done = _simulate(tmp_path, target, SECRET)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.splitlines()[-1].startswith(  # after the progress bar's line
        f"error: cannot post the simulated store's deliveries to {target}/webhooks/shopify "
        "(0 of them posted): is `opsdesk serve` running there? ("
    ), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_desk_checking_another_secret_stops_the_run_at_the_first_refusal(tmp_path: Path, desk: str) -> None:
    done = _simulate(tmp_path, desk, "not-the-desks-secret")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines()[-1] == (  # after the progress bar's line
        f"error: {desk}/webhooks/shopify refused the first delivery as not signed with its secret (401): "
        "sign with the secret the desk checks (OPSDESK_SHOPIFY_SECRET, or the shop's secret_env in opsdesk.yaml)"
    )
    with sqlite3.connect(tmp_path / "desk.db") as db:
        assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


def test_a_day_posted_whole_is_told_in_a_sentence(tmp_path: Path, desk: str) -> None:
    done = _simulate(tmp_path, desk, SECRET)
    assert done.returncode == 0, done.stderr
    posted = re.fullmatch(
        rf"posted the (\d+) deliveries of tiny to {desk}/webhooks/shopify in \d+\.\d s: all accepted\n",
        done.stdout,
    ).group(1)  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / "desk.db") as db:
        stored = db.execute("SELECT count(*) FROM deliveries WHERE topic NOT LIKE 'opsdesk/%'").fetchone()[0]
    assert 0 < stored <= int(posted)  # a delivery Shopify sent twice is stored once
