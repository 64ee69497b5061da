"""A typo in a case list's filter is refused, naming the values the desk knows, rather than read as "nothing to do".

Before, ``opsdesk cases list --status bogus`` (``--kind nope``, ``--queue nope``) and ``GET /api/v1/cases?status=bogus``
answered 0 cases with exit 0 / HTTP 200. A queue or kind the desk knows with no case in it is still 0 cases. Real
processes and real HTTP on a desk whose SQLite file has two cases in ``refunds``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.web.app import create_app
from tests.integration.desk_harness import bearer, make_desk
from tests.integration.test_cli import opsdesk
from tests.pipeline_harness import feed
from tests.samples import order_lifecycle

TYPOS = [
    ("--status", "bogus", "unknown status 'bogus'", "in_progress"),
    ("--kind", "nope", "unknown kind 'nope'", "refund"),
    ("--queue", "nope", "unknown queue 'nope'", "refunds"),
]


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    desk = make_desk(
        tmp_path,
        monkeypatch,
        queues={"refunds": {"team": "support"}, "vip": {"team": "support"}},
        teams={"support": {}, "ops": {}},
    )
    feed(desk.db, [d for n in (1, 2) for d in order_lifecycle(n, reason="OTHER")[:6]], desk.clock)  # type: ignore[arg-type]
    desk.process_pending()
    return desk


def cases_list(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    result = opsdesk("cases", "list", "--format", "json", *args, *where, cwd=tmp_path)
    return result.returncode, result.stdout, result.stderr


def test_the_cli_refuses_an_unknown_filter_value_with_exit_2_listing_the_known_ones(
    desk: Desk, tmp_path: Path
) -> None:
    for option, value, said, known in TYPOS:
        code, _, err = cases_list(tmp_path, option, value)
        assert code == 2, (option, err)
        assert said in err and known in err, err


def test_a_known_queue_or_kind_without_cases_is_an_empty_list(desk: Desk, tmp_path: Path) -> None:
    assert json.loads(cases_list(tmp_path, "--queue", "refunds")[1])["total"] == 2
    for option, value in (("--queue", "vip"), ("--kind", "incident"), ("--status", "resolved")):
        code, out, err = cases_list(tmp_path, option, value)
        assert (code, json.loads(out)["total"]) == (0, 0), err


def test_the_api_answers_400_with_the_error_shape_it_uses_elsewhere(desk: Desk) -> None:
    with TestClient(create_app(desk, background=False)) as client:
        headers = bearer(desk, "viewer", "viewer")
        for option, value, said, known in TYPOS:
            answer = client.get(f"/api/v1/cases?{option.removeprefix('--')}={value}", headers=headers)
            assert answer.status_code == 400, answer.text
            assert said in answer.json()["error"] and known in answer.json()["error"]
        fine = client.get("/api/v1/cases?queue=vip&status=open", headers=headers)
        assert (fine.status_code, fine.json()["total"]) == (200, 0)
