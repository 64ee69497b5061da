"""Every command that prints data takes ``--format json`` (the public contract; ADR 0060).

The command tree is walked, so a command added later without it fails here unless it prints no data and says why
in ``NO_DATA``. The commands that printed only sentences (``init``, ``users add|passwd|disable``, ``tokens
revoke``, ``policy review``) are run as a script runs them: real processes on a SQLite file and on PostgreSQL, their
stdout read as JSON, their refusals as the exit codes of ADR 0054 (1 a conflict, 2 bad input or an unknown name).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy.engine import make_url

from opsdesk.cli import cli
from tests.conftest import SQL_BACKENDS
from tests.integration.test_cli import opsdesk

#: The commands that print no data, each with why: a script has nothing to read from them but the exit code.
NO_DATA = {
    "serve": "runs until stopped: what it prints is its log and the address it listens on",
    "worker": "runs until stopped: what it prints, on stderr, is its log",
    "webhooks toml": "prints the [webhooks] block of shopify.app.toml: TOML, itself the document a script reads",
}
PASSWORD = "correct horse battery staple\n"
#: The functions of the command line that write on stderr themselves, each with why a script that asked for JSON
#: reads no text from them: any other note goes through ``cli_common.note``, a JSON line under ``--format json``.
STDERR_WRITERS = {
    "opsdesk.cli_common.note": "the one writer of notes: {\"note\": ...} under --format json",
    "opsdesk.cli.init": "the files kept, after emit returned: under json they are the document's 'kept'",
    "opsdesk.cli.worker": "prints no data (NO_DATA): where it runs, beside its log",
    "opsdesk.cli.policy_check": "the problems, in the text branch (the document has them)",
    "opsdesk.cli_check._probe": "quiet under json",
    "opsdesk.cli_check.probe": "in the text branch",
    "opsdesk.cli_ingest._print_summary": "the text rendering of the summary (the document has the bad lines)",
    "opsdesk.cli_users.verify": "in the text branch (the document has what broke)",
}


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every command under ``group``, by its name as typed (``users add``), groups walked into."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def format_option(command: Any) -> Any:
    return next((p for p in command.params if "--format" in getattr(p, "opts", ())), None)


def test_every_command_that_prints_data_takes_format_json() -> None:
    tree = dict(commands(typer.main.get_command(cli)))
    lacking = sorted(name for name, command in tree.items() if format_option(command) is None)
    assert lacking == sorted(NO_DATA)
    for name, command in tree.items():
        if name not in NO_DATA:  # the shared option (cli_common.FormatOpt): text by default, json when asked
            option = format_option(command)
            assert (name, option.name, option.default, option.help) == (name, "fmt", "text", "text or json")


def _to_stderr(call: ast.Call) -> bool:
    """Whether a call writes on stderr: ``err.print`` (the modules' ``Console(stderr=True)``), ``sys.stderr.write``,
    ``print(file=sys.stderr)``, ``typer.echo(err=True)``; a progress bar on ``err`` only without ``disable=``."""
    func, words = ast.unparse(call.func), {k.arg: ast.unparse(k.value) for k in call.keywords}
    if words.get("console") == "err":
        return "disable" not in words
    return (func.startswith("err.") or func == "sys.stderr.write" or words.get("file") == "sys.stderr"
            or (func == "typer.echo" and words.get("err") == "True"))


def test_under_json_stderr_has_no_text_but_what_each_writer_says_why() -> None:
    """A script reading stderr as JSON lines under ``--format json`` (ADR 0060 amended): every module a command
    of the tree is in (and ``cli_common``) is read, and each function writing on stderr itself must be one of
    ``STDERR_WRITERS``, whose reasons say why none of it is text under json."""
    tree = dict(commands(typer.main.get_command(cli)))
    names = {command.callback.__module__ for command in tree.values()} | {"opsdesk.cli_common"}
    found = set()
    for name in sorted(names):
        for node in ast.walk(ast.parse(inspect.getsource(importlib.import_module(name)))):
            if isinstance(node, ast.FunctionDef):
                calls = [c for c in ast.walk(node) if isinstance(c, ast.Call)]
                found |= {f"{name}.{node.name}"} if any(_to_stderr(c) for c in calls) else set()
    assert sorted(found) == sorted(STDERR_WRITERS)


def test_a_note_is_a_json_line_on_stderr_under_json_and_a_sentence_as_text(tmp_path: Path) -> None:
    """A token named after no person works but takes no case: the note says so, as JSON when JSON was asked."""
    assert opsdesk("init", ".", cwd=tmp_path).returncode == 0
    made = opsdesk("tokens", "create", "ci", "--role", "agent", "--format", "json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    said = [json.loads(line) for line in made.stderr.splitlines()]  # every line JSON: the log's, and the note
    assert [line for line in said if "note" in line] == [{"note": (
        "'ci' is no person under people: (people: alice, bob, carol, dan): it reads and works cases but takes "
        "none; name it after a person to act as them (ADR 0047)")}]
    text = opsdesk("tokens", "create", "ci2", "--role", "viewer", cwd=tmp_path)
    assert text.stderr.startswith("note: 'ci2' is no person under people: (people: alice, bob, carol, dan): it "
                                  "reads cases (a viewer)"), text.stderr


@pytest.fixture(params=SQL_BACKENDS)
def desk_dir(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder ``opsdesk init --format json`` made, and the environment naming its database."""
    if request.param == "postgres":  # with a password (the server trusts any): the document hides it
        url = make_url(request.getfixturevalue("pg_url")).set(password="s3cret").render_as_string(False)
    else:
        url = f"sqlite:///{tmp_path}/opsdesk.db"
    env = {"OPSDESK_DATABASE_URL": url}
    made = opsdesk("init", ".", "--format", "json", cwd=tmp_path, env=env)
    assert (made.returncode, made.stderr) == (0, ""), made.stderr
    starter = sorted(p.name for p in (tmp_path / "playbooks").iterdir())
    assert json.loads(made.stdout) == {
        "written": ["opsdesk.yaml", *(f"playbooks/{name}" for name in starter)],
        "kept": [],
        "database_url": url.replace(":s3cret@", ":***@"),
    }
    return tmp_path, env


def as_json(*args: str, where: tuple[Path, dict[str, str]], stdin: str | None = None) -> tuple[int, Any]:
    """The exit code and what a command prints under ``--format json``: its document, else its error (stderr)."""
    result = opsdesk(*args, "--format", "json", cwd=where[0], env=where[1], stdin=stdin)
    assert "Traceback" not in result.stderr, result.stderr
    if result.returncode == 0:
        return 0, json.loads(result.stdout)
    assert result.stdout == ""
    return result.returncode, json.loads(result.stderr)


def test_init_again_names_the_files_it_kept(tmp_path: Path) -> None:
    first = opsdesk("init", ".", cwd=tmp_path)
    again = opsdesk("init", ".", "--format", "json", cwd=tmp_path)
    assert (again.returncode, again.stderr) == (0, "")  # kept: in the document, not a line on stderr
    done = json.loads(again.stdout)
    assert (done["written"], done["kept"][0], len(done["kept"])) == ([], "opsdesk.yaml", 8)
    assert f"schema ready {done['database_url']}" in first.stdout  # the text names the same database


def test_init_on_a_database_url_that_is_wrong_is_a_json_error_exit_2(tmp_path: Path) -> None:
    result = opsdesk("init", ".", "--database-url", "notaurl", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    error = json.loads(result.stderr)
    assert (error["exit_code"], "not a database URL" in error["error"]) == (2, True)


def test_users_add_passwd_disable_print_the_account_and_refuse_with_adr_0054s_codes(
    desk_dir: tuple[Path, dict[str, str]],
) -> None:
    code, added = as_json("users", "add", "lin", "--role", "lead", "--shop", "*", "--person", "carol",
                          "--name", "Lin", "--password-stdin", where=desk_dir, stdin=PASSWORD)
    assert (code, {k: v for k, v in added.items() if k != "created_at"}) == (0, {
        "username": "lin", "display_name": "Lin", "person_id": "carol", "roles": {"*": "lead"}, "disabled": False})
    code, listed = as_json("users", "list", where=desk_dir)
    assert listed == [added]  # the same document as the list's
    assert as_json("users", "passwd", "lin", "--password-stdin", where=desk_dir, stdin=PASSWORD) == (0, added)
    assert as_json("users", "disable", "lin", where=desk_dir) == (0, {**added, "disabled": True})

    again = ("users", "add", "lin", "--role", "agent", "--shop", "*", "--password-stdin")
    conflict = {"error": "user 'lin' exists already", "exit_code": 1}
    assert as_json(*again, where=desk_dir, stdin=PASSWORD) == (1, conflict)
    code, error = as_json("users", "add", "max", "--role", "root", "--shop", "*", "--password-stdin",
                          where=desk_dir, stdin=PASSWORD)
    assert (code, error["exit_code"], "root" in error["error"]) == (2, 2, True)
    code, error = as_json("users", "add", "max", "--role", "agent", "--shop", "nope.myshopify.com",
                          "--password-stdin", where=desk_dir, stdin=PASSWORD)
    assert (code, error["error"].startswith("unknown shop(s) nope.myshopify.com")) == (2, True)
    assert as_json("users", "disable", "nobody", where=desk_dir) == (2, {"error": "no user 'nobody'", "exit_code": 2})
    assert as_json("users", "passwd", "nobody", "--password-stdin", where=desk_dir, stdin=PASSWORD) == (
        2, {"error": "no user 'nobody'", "exit_code": 2})
    assert as_json("users", "list", where=desk_dir) == (0, [{**added, "disabled": True}])  # nothing else made


def test_tokens_revoke_prints_the_token_and_whether_it_was_revoked_already(
    desk_dir: tuple[Path, dict[str, str]],
) -> None:
    _, made = as_json("tokens", "create", "ci", "--role", "agent", where=desk_dir)
    listed = {k: made[k] for k in ("id", "name", "role", "created_at")}
    assert as_json("tokens", "revoke", made["id"], where=desk_dir) == (
        0, {**listed, "revoked": True, "already_revoked": False})
    assert as_json("tokens", "revoke", made["id"], where=desk_dir) == (
        0, {**listed, "revoked": True, "already_revoked": True})
    assert as_json("tokens", "revoke", "0123456789abcdef", where=desk_dir) == (2, {
        "error": "no API token '0123456789abcdef' (opsdesk tokens list shows their ids)", "exit_code": 2})


def test_policy_review_prints_the_review_it_recorded(desk_dir: tuple[Path, dict[str, str]]) -> None:
    code, review = as_json("policy", "review", "risk", "--by", "carol", "--note", "weekly", where=desk_dir)
    assert (code, {k: v for k, v in review.items() if k not in ("version", "reviewed_at")}) == (
        0, {"playbook": "risk", "reviewer": "carol", "note": "weekly"})
    assert review["reviewed_at"].endswith("Z") and review["version"]
    code, error = as_json("policy", "review", "riks", "--by", "carol", where=desk_dir)
    assert (code, error["error"].startswith("no playbook 'riks' is loaded")) == (2, True)
    code, error = as_json("policy", "review", "risk", "--by", " ", where=desk_dir)
    assert (code, error) == (2, {"error": "a review needs the reviewer's name (--by)", "exit_code": 2})


def test_a_format_other_than_text_or_json_makes_nothing(tmp_path: Path) -> None:
    refused = opsdesk("init", ".", "--format", "yaml", cwd=tmp_path)
    assert (refused.returncode, refused.stderr.strip()) == (2, "error: --format must be text or json, not 'yaml'")
    assert list(tmp_path.iterdir()) == []


def test_the_password_prompt_is_on_stderr_so_stdout_holds_only_the_output(tmp_path: Path) -> None:
    assert opsdesk("init", ".", cwd=tmp_path).returncode == 0
    typed = PASSWORD * 2  # the password and its confirmation

    def add(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        # A session of its own: no terminal to prompt on, so the prompt goes where the command sends it.
        return subprocess.run(
            [sys.executable, "-m", "opsdesk", "users", "add", name, "--role", "agent", "--shop", "*", *args],
            cwd=tmp_path, input=typed, capture_output=True, text=True, timeout=120, check=False,
            start_new_session=True,
        )

    text = add("lin")
    assert (text.returncode, text.stdout) == (0, "added lin (agent in every shop)\n"), text.stderr
    assert "Password:" in text.stderr and "Repeat for confirmation:" in text.stderr
    scripted = add("max", "--format", "json")
    assert (scripted.returncode, json.loads(scripted.stdout)["username"]) == (0, "max"), scripted.stderr
