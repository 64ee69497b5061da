"""A script asking for ``--format json`` reads an error as JSON too: one object on stderr in the API's shape, with
the exit code, and nothing on stdout; a person who did not ask for it reads the sentence as before (ADR 0060).

Real processes (``python -m opsdesk``) on a real SQLite file, as a script runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli import init, opsdesk


def json_error(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """The exit code and the error a command prints under ``--format json``: its stderr is that one object."""
    result = opsdesk(*args, cwd=cwd, env=env)
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stderr)


def test_an_unknown_case_is_a_json_error_exit_2_and_the_same_sentence_as_text(tmp_path: Path) -> None:
    init(tmp_path)
    assert json_error("cases", "show", "C-999", "--format", "json", cwd=tmp_path) == (
        2, {"error": "no case C-999", "exit_code": 2}
    )
    text = opsdesk("cases", "show", "C-999", cwd=tmp_path)
    assert (text.returncode, text.stdout, text.stderr.strip()) == (2, "", "error: no case C-999")


def test_a_database_that_cannot_answer_is_a_json_error_exit_3(tmp_path: Path) -> None:
    init(tmp_path)
    code, error = json_error(
        "cases", "list", "--format=json", cwd=tmp_path,
        env={"OPSDESK_DATABASE_URL": "sqlite:////nonexistent-dir/opsdesk.db"},
    )
    assert (code, error["exit_code"], sorted(error)) == (3, 3, ["error", "exit_code"])
    assert "cannot open the database" in error["error"]


def test_a_named_configuration_file_that_is_missing_is_a_json_error_exit_2(tmp_path: Path) -> None:
    code, error = json_error("tokens", "list", "--config", "nope.yaml", "--format", "json", cwd=tmp_path)
    assert (code, error) == (
        2, {"error": "no such configuration file: nope.yaml (--config); opsdesk init writes one", "exit_code": 2}
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("cases", "list", "--limit", "0"),
            {"error": "Invalid value for '--limit': Input should be greater than or equal to 1",
             "problems": [{"at": "--limit", "problem": "Input should be greater than or equal to 1"}]},
        ),
        (
            ("cases", "claim", "C-1"),
            {"error": "Missing option '--as'.", "problems": [{"at": "--as", "problem": "missing"}]},
        ),
        (("cases", "list", "--bogus"), {"error": "No such option: --bogus"}),
    ],
)
def test_a_usage_error_is_a_json_error_naming_the_option_exit_2(
    tmp_path: Path, args: tuple[str, ...], error: dict[str, Any]
) -> None:
    assert json_error(*args, "--format", "json", cwd=tmp_path) == (2, {**error, "exit_code": 2})
    text = opsdesk(*args, cwd=tmp_path)
    assert text.returncode == 2 and "--help" in text.stderr  # as text: the usage and where to look, as before
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.stderr)


@pytest.mark.parametrize(
    ("args", "asks"),
    [
        (["cases", "list", "--format", "json"], True),
        (["cases", "list", "--format=json"], True),
        (["cases", "list", "--format", "text"], False),
        (["cases", "list"], False),
        (["cases", "comment", "C-1", "--as", "al", "--", "--format", "json"], False),  # words after -- are text
    ],
)
def test_json_is_asked_for_by_the_format_option_only(args: list[str], asks: bool) -> None:
    from opsdesk.cli_errors import asks_for_json

    assert asks_for_json(args) is asks
