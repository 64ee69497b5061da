"""The command line starts with only what its command needs (ADR 0054, session 15): ``opsdesk --help`` loads no web
app, database, configuration or HTTP client, and a command reading the database loads no Alembic (the schema is
at the head revision) and no HTTP client (it talks to no provider). What each loads is checked, not how long it
takes: real processes, a real SQLite file migrated by ``opsdesk init``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from opsdesk.storage import schema
from tests.integration.test_cli import opsdesk

#: What no command needs to be named or described: the web app, the database and its migrations, the
#: configuration's settings, the HTTP client, the playbooks' expressions, and the parts of opsdesk wiring them
#: (pydantic is not among them: typer parses a command's options with it).
NOT_FOR_HELP = ("fastapi", "starlette", "jinja2", "uvicorn", "alembic", "sqlalchemy", "httpx", "pydantic_settings",
                "yaml", "cel", "argon2", "prometheus_client", "opsdesk.app", "opsdesk.config", "opsdesk.desk",
                "opsdesk.storage", "opsdesk.connectors", "opsdesk.web", "opsdesk.services", "opsdesk.simulator")
#: What a command that reads the database and talks to no provider does not need (its schema is current): the
#: connectors over HTTP are made when first used (the SMTP one, which reads no network, with the desk).
NOT_FOR_READING = ("fastapi", "starlette", "jinja2", "uvicorn", "alembic", "httpx", "opsdesk.connectors.http",
                   "opsdesk.connectors.shopify", "opsdesk.web.app", "opsdesk.simulator")
#: Runs the command line in this process as ``python -m opsdesk`` does, then prints the modules it loaded.
RUN = """
import json, sys
from opsdesk.cli import main
sys.argv = ["opsdesk", *sys.argv[1:]]
try:
    main()
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(*args: str, cwd: Path) -> tuple[int, list[str]]:
    """The exit code of ``opsdesk ARGS`` and every module its process loaded."""
    result = subprocess.run([sys.executable, "-c", RUN, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                            check=False, env={**os.environ, "COLUMNS": "200"})
    return result.returncode, json.loads(result.stderr.splitlines()[-1])


def among(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """The packages of ``packages`` that ``modules`` holds (a package, or any module under it)."""
    return sorted(p for p in packages if any(m == p or m.startswith(f"{p}.") for m in modules))


def test_importing_the_command_line_loads_no_web_app_database_configuration_or_http_client(tmp_path: Path) -> None:
    code = "import json, sys\nimport opsdesk.cli\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=True)
    assert among(json.loads(result.stdout), NOT_FOR_HELP) == []


def test_help_loads_nothing_a_command_needs_to_run(tmp_path: Path) -> None:
    for args in (("--help",), ("cases", "--help"), ("cases", "list", "--help"), ("simulate", "--help")):
        code, modules = loaded(*args, cwd=tmp_path)
        assert (args, code, among(modules, NOT_FOR_HELP)) == (args, 0, [])


def test_a_command_reading_a_current_database_loads_no_migrations_and_no_http_client(tmp_path: Path) -> None:
    assert opsdesk("init", ".", cwd=tmp_path).returncode == 0
    for args in (("cases", "list", "--format", "json"), ("users", "list"), ("tokens", "list", "--format", "json")):
        code, modules = loaded(*args, cwd=tmp_path)
        assert (args, code, among(modules, NOT_FOR_READING)) == (args, 0, [])
        assert "sqlalchemy" in modules  # it did read the database


def test_the_head_revision_migrate_compares_with_is_the_newest_migrations() -> None:
    """``migrate`` skips Alembic when the database is at ``schema.HEAD``: a migration added without moving it here
    would be skipped on every database the previous one built."""
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.HEAD
