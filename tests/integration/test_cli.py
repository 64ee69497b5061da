"""The command line as a user runs it: real processes, real files, exit codes and messages."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson

from tests.samples import SECRET, SHOP, order_lifecycle


def opsdesk(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "opsdesk", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def init(tmp_path: Path) -> None:
    result = opsdesk("init", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "opsdesk.yaml").read_text().replace("demo-store.myshopify.com", SHOP)
    (tmp_path / "opsdesk.yaml").write_text(config)


def test_init_writes_a_commented_config_the_playbooks_and_the_schema_and_keeps_existing_files(
    tmp_path,
) -> None:
    first = opsdesk("init", ".", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "# opsdesk configuration" in (tmp_path / "opsdesk.yaml").read_text()
    assert (tmp_path / "playbooks" / "refunds.yaml").exists()
    assert (tmp_path / "opsdesk.db").exists()
    (tmp_path / "opsdesk.yaml").write_text("shops: []\n")
    again = opsdesk("init", ".", cwd=tmp_path)
    assert again.returncode == 0
    assert "kept" in again.stderr
    assert (tmp_path / "opsdesk.yaml").read_text() == "shops: []\n"


def test_a_bad_config_names_the_file_the_key_and_the_problem(tmp_path) -> None:
    (tmp_path / "opsdesk.yaml").write_text(
        "shops:\n  - domain: shop.myshopify.com\n    handling_hour: 3\nlimits:\n  batch_size: 0\n"
    )
    result = opsdesk("tokens", "create", "x", cwd=tmp_path)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "opsdesk.yaml:3:5: shops.0.handling_hour: unknown key" in message
    assert "opsdesk.yaml:5:15: limits.batch_size: Input should be greater than or equal to 1" in message


def test_policy_check_reports_problems_with_positions_and_exits_non_zero(tmp_path) -> None:
    init(tmp_path)
    assert opsdesk("policy", "check", cwd=tmp_path).returncode == 0
    broken = tmp_path / "playbooks" / "refunds.yaml"
    broken.write_text(broken.read_text().replace("event.amount <= 50.0", "event.amount <= 'x'"))
    result = opsdesk("policy", "check", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    problem = report["problems"][0]  # as opsdesk check's problems: where, the field and what (ADR 0060, session 15)
    rows = broken.read_text().splitlines()
    line = next(n for n, row in enumerate(rows, 1) if "event.amount <= 'x'" in row) - 1  # its folded ``if: >``
    assert (sorted(problem), problem["file"], problem["line"]) == (
        ["at", "column", "file", "line", "problem"], str(broken), line)
    assert problem["at"].startswith("rules.") and problem["at"].endswith(".if"), problem
    assert "type error" in problem["problem"]
    assert opsdesk("policy", "check", "missing.yaml", cwd=tmp_path).returncode == 2


def test_ingest_replays_recorded_deliveries_and_counts_bad_lines_without_stopping(tmp_path) -> None:
    init(tmp_path)
    lines = [orjson.dumps(d) for d in order_lifecycle(1)]
    lines.insert(2, b"this is not json")
    lines.insert(4, b'{"headers": {}}')
    lines.append(lines[0])  # a duplicate delivery
    path = tmp_path / "deliveries.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    result = opsdesk("ingest", str(path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["lines"], summary["stored"], summary["duplicates"], summary["bad_line_count"]) == (
        10,
        7,
        1,
        2,
    )
    assert summary["bad_lines"][0].startswith("line 3: not JSON")
    assert summary["pipeline"]["automated"] == 1
    assert summary["pipeline"]["events"] == 7


def test_ingest_of_a_missing_file_is_a_clear_error(tmp_path) -> None:
    init(tmp_path)
    result = opsdesk("ingest", "nope.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.jsonl: no such file" in result.stderr


def test_tokens_are_printed_once_and_an_unknown_role_is_refused(tmp_path) -> None:
    init(tmp_path)
    ok = opsdesk("tokens", "create", "ci", "--role", "agent", cwd=tmp_path)
    assert ok.returncode == 0
    assert ok.stdout.strip().startswith("odk_")
    bad = opsdesk("tokens", "create", "ci", "--role", "root", cwd=tmp_path)
    assert bad.returncode == 2
    assert "unknown role 'root'" in bad.stderr
    # Creating a token is in the audit log, as creating an account is: who, which token, its role; never the token.
    with sqlite3.connect(tmp_path / "opsdesk.db") as db:
        audited = db.execute("SELECT actor, action, subject, after FROM audit WHERE action = 'token.create'").fetchall()
    [(actor, action, subject, after)] = audited
    assert (actor, action, subject.startswith("token:"), json.loads(after)) == (
        "cli", "token.create", True, {"name": "ci", "role": "agent"})
    assert ok.stdout.strip() not in after


def test_the_package_runs_as_a_module_with_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opsdesk", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("init", "serve", "worker", "ingest", "policy", "tokens"):
        assert command in result.stdout
