"""Every error the command line may meet has the exit code of what it means (ADR 0054, amended): 1 an answer (a
conflict), 2 bad input, 3 try again later, 70 opsdesk itself failed; as text and, under ``--format json``, as one
JSON object on stderr (ADR 0060).

Real processes (``python -m opsdesk``) on real SQLite files; where a failure has to be made, a ``sitecustomize``
on ``PYTHONPATH`` makes it in the real process (and in the simulator's child, which inherits ``PYTHONPATH``)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import zstandard
from sqlalchemy import create_engine

import opsdesk
from opsdesk import cli_errors
from opsdesk.domain.errors import OpsdeskError
from opsdesk.storage import tables as t
from tests.integration.test_cli import init
from tests.integration.test_cli import opsdesk as run
from tests.integration.test_simulate_used_database import TINY
from tests.samples import SHOP

#: Every error class of opsdesk, by name, and the code the CLI exits with: a new class must be placed here.
CODES = {
    "OpsdeskError": 2,
    "InvalidInput": 2, "InvalidMoney": 2, "InvalidPayload": 2, "InvalidPolicy": 2, "FieldError": 2, "YamlError": 2,
    "InvalidDocument": 2, "InvalidPlaybooks": 2,  # a file not valid: its problems, each where and what
    "InvalidField": 2,  # a value refused for what the rest of its file says; located, it is the file's InvalidDocument
    "InvalidFields": 2,  # every such value of the file at once (opsdesk check lists them all)
    "NotFound": 2,
    "DataRefused": 2,  # the API's 422: the value, sent again, is refused again
    "SchemaAhead": 2,  # the database named is one a newer opsdesk upgraded: name another, or run that version
    "UnknownDictionary": 2,  # a stored body a newer (or another) opsdesk packed: the database is not this one's
    "SweepFailed": 3,  # Shopify's Admin API did not answer the sweep's reads: try again later
    "SweepRefused": 2,  # it refused them (the token, a scope): asking again cannot help until the app changes
    "Conflict": 1, "Refused": 1,
    "Unavailable": 3,
    "PrivacyDeferred": 3,  # an email to the customer is being sent: the erasure can run once it is done
    "PrivacyFailed": 70,  # the timer's wrap of an unexpected error, its type only
    "GeneratorFailed": 70,  # the simulated store's process, the desk's own, failed
}


def _error_classes() -> set[type[OpsdeskError]]:
    for module in pkgutil.walk_packages(opsdesk.__path__, "opsdesk."):
        if ".starter" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[OpsdeskError]] = set()
    todo: list[type[OpsdeskError]] = [OpsdeskError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_of_opsdesk_is_placed_at_its_exit_code() -> None:
    classes = _error_classes()
    assert sorted(c.__name__ for c in classes) == sorted(CODES)
    codes = {cls.__name__: cli_errors.exit_code(cls.__new__(cls)) for cls in classes}
    assert codes == CODES


def _customize(folder: Path, code: str) -> dict[str, str]:
    """An environment whose Python processes run ``code`` first (a ``sitecustomize`` in a folder of its own)."""
    (folder / "site").mkdir()
    (folder / "site" / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(folder / "site"), os.environ.get("PYTHONPATH", "")) if p)}


def test_a_redaction_deferred_by_an_email_being_sent_exits_3_try_again_later(tmp_path: Path) -> None:
    init(tmp_path)
    now = datetime.now(UTC)
    with create_engine(f"sqlite:///{tmp_path / 'opsdesk.db'}").begin() as conn:  # a worker is sending it now
        conn.execute(t.actions.insert().values(
            id="a-1", decision_id="d-1", shop=SHOP, order_id=1001, kind="email", provider="smtp",
            payload=json.dumps({"to": "ann@example.com", "subject": "Your refund"}), idempotency_key="k-1",
            status="pending", attempts=0, next_attempt_at=now, lease_owner="worker-2",
            lease_until=now + timedelta(minutes=5), created_at=now,
        ))
    args = ("privacy", "redact", "--shop", SHOP, "--email", "ann@example.com")
    text = run(*args, cwd=tmp_path)
    assert (text.returncode, text.stdout) == (3, ""), text.stderr
    assert "being sent right now" in text.stderr
    as_json = run(*args, "--format", "json", cwd=tmp_path)
    assert json.loads(as_json.stderr)["exit_code"] == as_json.returncode == 3


def test_a_simulated_store_whose_process_dies_exits_70_not_bad_input(tmp_path: Path) -> None:
    init(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    child_dies = "import os, sys\nif 'opsdesk.simulator.feed' in sys.orig_argv:\n    os._exit(9)\n"
    env = _customize(tmp_path, child_dies)
    args = ("simulate", "--scenario", "tiny.yaml", "--database-url", f"sqlite:///{tmp_path / 'day.db'}")
    result = run(*args, "--format", "json", cwd=tmp_path, env=env)
    error = json.loads(result.stderr.splitlines()[-1])
    assert (result.returncode, error["exit_code"]) == (70, 70), result.stderr[-2000:]
    assert "the store's generator" in error["error"]


def test_a_bug_exits_70_with_its_traceback_for_the_person_and_one_json_error_last(tmp_path: Path) -> None:
    env = _customize(tmp_path, "import shutil\n\ndef copyfile(*_a, **_k):\n    raise RuntimeError('a bug')\n\n"
                     "shutil.copyfile = copyfile\n")
    text = run("init", "desk", cwd=tmp_path, env=env)
    assert text.returncode == 70, text.stderr
    assert "Traceback" in text.stderr and "RuntimeError: a bug" in text.stderr
    assert text.stderr.strip().splitlines()[-1].startswith("error: opsdesk failed")
    as_json = run("init", "desk", "--format", "json", cwd=tmp_path, env=env)
    assert (as_json.returncode, as_json.stdout) == (70, "")
    error = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert error == {"error": "opsdesk failed: RuntimeError: a bug (the log above has the traceback)",
                     "exit_code": 70}
    assert "Traceback" in as_json.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_folder_that_cannot_be_written_is_bad_input_exit_2_naming_it(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = run("init", "a-file/desk", "--format", fmt, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "Traceback" not in result.stderr
    said = json.loads(result.stderr)["error"] if fmt == "json" else result.stderr
    assert "a-file/desk" in said


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_body_packed_with_a_dictionary_this_opsdesk_lacks_is_exit_2_not_a_bug(tmp_path: Path, fmt: str) -> None:
    """A stored delivery another (newer) opsdesk packed: the database named is not one this version reads, as a
    schema ahead of it (2), not opsdesk failing (70)."""
    init(tmp_path)
    other = zstandard.train_dictionary(4096, [orjson.dumps({"n": n, "name": f"order {n}"}) * 8 for n in range(400)])
    with create_engine(f"sqlite:///{tmp_path / 'opsdesk.db'}").begin() as conn:
        conn.execute(t.deliveries.insert().values(
            shop=SHOP, webhook_id="w-1", topic="orders/create", received_at=datetime.now(UTC), status="pending",
            body=zstandard.ZstdCompressor(dict_data=other).compress(b'{"id": 1}'),
        ))
    (tmp_path / "none.jsonl").write_text("")
    result = run("ingest", "none.jsonl", "--format", fmt, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "Traceback" not in result.stderr
    said = json.loads(result.stderr)["error"] if fmt == "json" else result.stderr
    assert f"dictionary {other.dict_id()}" in said


def test_an_oserror_on_a_path_of_opsdesks_own_is_its_failure_70_not_bad_input(tmp_path: Path) -> None:
    """Only a path the user gave (a word of the command line, the configuration and the folders it names) is read as
    theirs (2): a file opsdesk itself could not read is a failure of its own, whatever the error names."""
    env = _customize(tmp_path, "import shutil\n\ndef copyfile(*_a, **_k):\n    raise FileNotFoundError(2, "
                     "'No such file or directory', '/nonexistent/opsdesk/starter/opsdesk.yaml')\n\n"
                     "shutil.copyfile = copyfile\n")
    result = run("init", "desk", "--format", "json", cwd=tmp_path, env=env)
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert (result.returncode, error["exit_code"]) == (70, 70), result.stderr
    assert error["error"].startswith("opsdesk failed: FileNotFoundError")


def test_a_folder_the_configuration_names_that_cannot_be_written_is_bad_input_exit_2(tmp_path: Path) -> None:
    init(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "opsdesk.yaml"
    config.write_text(config.read_text() + "\nprivacy: {export_dir: a-file/exports}\n")
    result = run("privacy", "export", "--shop", SHOP, "--email", "ann@example.com", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "a-file/exports" in json.loads(result.stderr)["error"]


def test_ctrl_c_under_json_is_the_interrupts_json_line_exit_130(tmp_path: Path) -> None:
    """typer turns a KeyboardInterrupt into its Exit(130): it was passed through without a word, JSON asked or not."""
    env = _customize(tmp_path, "import opsdesk.cli_common as common\n\ndef interrupted(*_a, **_k):\n"
                     "    raise KeyboardInterrupt\n\ncommon.load_settings = interrupted\n")
    result = run("cases", "list", "--format", "json", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (130, ""), result.stderr
    assert json.loads(result.stderr) == {"error": "interrupted", "exit_code": 130}
    assert (run("cases", "list", cwd=tmp_path, env=env).returncode, result.stdout) == (130, "")
