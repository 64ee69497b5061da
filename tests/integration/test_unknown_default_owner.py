"""A shop's ``default_owner`` that names nobody the desk knows (a typo: ``team:opz``) is said where it is written
before the shop's first order, not only by a readiness control after its orders went to that name (ADR 0060
amended): ``opsdesk check`` refuses it as a configuration error (exit 2, with its file, line and field), and
``serve`` and ``worker`` start all the same, warning with the same words (refusing would lose webhooks over a typo).

Real processes on a starter config (``opsdesk init``) and its SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import init, opsdesk
from tests.integration.test_unrouted_queue import worker_start_log

TYPO = "default_owner: team:opz"


def _mistype(folder: Path) -> tuple[str, int, int]:
    """Write the typo into the starter's one shop; where it is: the file, its line and the value's column."""
    config = folder / "opsdesk.yaml"
    text = config.read_text().replace("default_owner: team:ops", TYPO)
    config.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if TYPO in row)
    return str(config.resolve()), line, text.splitlines()[line - 1].index("team:opz") + 1


def test_check_refuses_an_unknown_default_owner_naming_where_it_is_written(tmp_path: Path) -> None:
    init(tmp_path)
    file, line, column = _mistype(tmp_path)
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stdout
    error = json.loads(result.stderr)
    assert error["problems"] == [{
        "file": file, "line": line, "column": column, "at": "shops.0.default_owner",
        "problem": "no person or team 'team:opz' (teams: ops, support): the shop's new orders would go to a name "
                   "nobody is told about",
    }]
    text = opsdesk("check", "--no-probe", cwd=tmp_path)
    assert (text.returncode, text.stdout) == (2, "")
    assert f"{file}:{line}:{column}: shops.0.default_owner: no person or team 'team:opz'" in text.stderr


def test_the_worker_starts_all_the_same_and_warns_where_it_is_written(tmp_path: Path) -> None:
    init(tmp_path)
    file, line, column = _mistype(tmp_path)
    logged = worker_start_log(tmp_path)
    assert f"{file}:{line}:{column}: shops.0.default_owner: no person or team 'team:opz'" in logged, logged
    assert "order-owners" in logged, logged
