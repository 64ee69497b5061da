"""A leaked token revoked with ``opsdesk tokens revoke`` is refused at once by a running ``opsdesk serve``.

The server and the command are separate processes on one database, as in production: nothing in the
server may remember a token it has already seen.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli import init, opsdesk
from tests.integration.test_tokens_cli import stored
from tests.ports import free_port
from tests.samples import SECRET


@contextmanager
def serving(directory: Path, url: str) -> Iterator[str]:
    """``opsdesk serve --no-worker`` on a free port; its base URL once it answers."""
    port = free_port()
    env = {**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET}
    command = ["-m", "opsdesk", "serve", "--port", str(port), "--no-worker", "--database-url", url]
    server = subprocess.Popen([sys.executable, *command], cwd=directory, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base):
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "opsdesk serve did not answer in 60 s"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def get_cases(base: str, token: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def answer(response: httpx.Response) -> tuple[int, object, str | None]:
    return response.status_code, response.json(), response.headers.get("www-authenticate")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_revoked_token_gets_the_401_of_an_unknown_token_from_its_next_request(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    init(tmp_path)
    url = f"sqlite:///{tmp_path / 'opsdesk.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")

    def create(name: str) -> str:
        made = opsdesk("tokens", "create", name, "--role", "viewer", "--database-url", url, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    leaked, kept = create("leaked"), create("kept")
    with serving(tmp_path, url) as base:
        assert [get_cases(base, t).status_code for t in (leaked, kept)] == [200, 200]  # seen (and so cached, if any)
        unknown = answer(get_cases(base, "odk_" + "x" * 43))

        revoked = opsdesk("tokens", "revoke", stored(url)["leaked"][0], "--database-url", url, cwd=tmp_path)
        assert revoked.returncode == 0, revoked.stderr

        assert answer(get_cases(base, leaked)) == unknown
        assert unknown == (401, {"error": "invalid or revoked token"}, "Bearer")
        assert get_cases(base, kept).status_code == 200
