"""A database URL's password is never printed: ``worker`` names the database it runs on as ``init`` does, the
password hidden (``***``). A real ``opsdesk worker`` on a real PostgreSQL schema, with a password in its URL."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.integration.test_cli import opsdesk

pytestmark = pytest.mark.postgres


def test_the_worker_names_its_database_without_the_password(tmp_path: Path, pg_url: str) -> None:
    url = make_url(pg_url).set(password="s3cret").render_as_string(hide_password=False)  # the server trusts
    assert opsdesk("init", ".", "--database-url", url, cwd=tmp_path).returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "opsdesk", "worker", "--database-url", url],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert worker.stderr is not None
        said = next(line for line in worker.stderr if "worker running on" in line)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert said.strip() == f"worker running on {make_url(url).render_as_string(hide_password=True)}"
    assert "s3cret" not in said and ":***@" in said
