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
        (["cases", "list", "--format", "JSON"], True),  # the format is read in any case (ADR 0060, session 15)
        (["cases", "list", "--format=Json"], True),
        (["cases", "list", "--format", "text"], False),
        (["cases", "list"], False),
        (["cases", "comment", "C-1", "--as", "al", "--", "--format", "json"], False),  # words after -- are text
    ],
)
def test_json_is_asked_for_by_the_format_option_only(args: list[str], asks: bool) -> None:
    from opsdesk.cli_errors import asks_for_json

    assert asks_for_json(args) is asks


def test_the_format_is_read_in_any_case_and_its_errors_are_json_too(tmp_path: Path) -> None:
    """``--format JSON`` is ``--format json``: the document on stdout, an error as one JSON line (ADR 0060, session
    15). A value that is neither, in any case, is refused as before."""
    init(tmp_path)
    listed = opsdesk("users", "list", "--format", "JSON", cwd=tmp_path)
    assert (listed.returncode, json.loads(listed.stdout)) == (0, []), listed.stderr
    assert json_error("cases", "show", "C-999", "--format=Json", cwd=tmp_path) == (
        2, {"error": "no case C-999", "exit_code": 2})
    wrong = opsdesk("users", "list", "--format", "YAML", cwd=tmp_path)
    assert (wrong.returncode, wrong.stdout) == (2, "")
    assert wrong.stderr.strip() == "error: --format must be text or json, not 'yaml'"


BAD_CONFIG = "shops:\n  - domain: Not A Domain\n    handling_hours: s3cret-token-value\n    colour: blue\n"
NOT_YAML = "shops: [\n"


def test_a_configuration_that_is_not_valid_names_each_problem_where_it_is_written(tmp_path: Path) -> None:
    """As the API's 422 names each field: the file, line, column, the field's path and what is wrong, never the value
    (it may be a secret); as text the lines are as they were, one per problem (ADR 0060 amended)."""
    (tmp_path / "opsdesk.yaml").write_text(BAD_CONFIG)
    code, error = json_error("cases", "list", "--format", "json", cwd=tmp_path)
    pattern = "String should match pattern '^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$'"
    not_int = "Input should be a valid integer, unable to parse string as an integer"
    assert (code, error["problems"]) == (2, [
        {"file": "opsdesk.yaml", "line": 2, "column": 13, "at": "shops.0.domain", "problem": pattern},
        {"file": "opsdesk.yaml", "line": 3, "column": 21, "at": "shops.0.handling_hours", "problem": not_int},
        {"file": "opsdesk.yaml", "line": 4, "column": 5, "at": "shops.0.colour", "problem": "unknown key"},
    ])
    assert "s3cret" not in json.dumps(error)
    text = opsdesk("cases", "list", cwd=tmp_path)
    assert (text.returncode, text.stdout, text.stderr.splitlines()) == (2, "", [
        "error: invalid configuration:",
        f"  opsdesk.yaml:2:13: shops.0.domain: {pattern}",
        f"  opsdesk.yaml:3:21: shops.0.handling_hours: {not_int}",
        "  opsdesk.yaml:4:5: shops.0.colour: unknown key",
    ])
    (tmp_path / "opsdesk.yaml").write_text(NOT_YAML)  # not YAML at all: where it stops, no field
    code, error = json_error("cases", "list", "--format", "json", cwd=tmp_path)
    assert (code, error["problems"]) == (2, [{"file": "opsdesk.yaml", "line": 2, "column": 1, "at": None,
                                               "problem": error["error"].removeprefix("opsdesk.yaml:2:1: ")}])


def test_a_playbook_that_is_not_valid_names_each_problem_with_its_file_line_and_field(tmp_path: Path) -> None:
    init(tmp_path)
    bad = tmp_path / "playbooks" / "bad.yaml"
    bad.write_text("playbook: bad\nowner: ops\nrules:\n  - id: r1\n    when: [order.created]\n    colour: blue\n")
    code, error = json_error("cases", "list", "--format", "json", cwd=tmp_path)
    assert code == 2 and error["error"].startswith("playbooks failed the check:")
    assert [(p["file"], p["line"], p["column"], p["at"]) for p in error["problems"]] == [
        (str(bad), 6, 5, "rules.0.colour")
    ]
    assert error["problems"][0]["problem"].startswith("unknown key 'colour'")
    text = opsdesk("cases", "list", cwd=tmp_path)
    assert (text.returncode, text.stderr.splitlines()[:2]) == (
        2, ["error: playbooks failed the check:", f"  {bad}:6:5: {error['problems'][0]['problem']}"]
    )
