"""Databases for the whole suite: in-memory, a SQLite file, and a fresh PostgreSQL schema per test.

PostgreSQL tests never skip: when the server cannot be reached they fail with the reason. The only
way to leave them out is to say so, with ``-m "not postgres"``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from opsdesk.ports import Database
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.testing import InMemoryDatabase
from tests.suite_order import long_files_first

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_server_url() -> str:
    return os.environ.get("OPSDESK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture
def memory_db() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqlDatabase]:
    engine = create_sql_engine(f"sqlite:///{tmp_path / 'opsdesk.db'}")
    migrate(engine)
    db = SqlDatabase(engine)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Engine]:
    """An engine on the server's own database, used to create and drop the per-test schemas."""
    url = make_url(postgres_server_url())
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": "5"})
    engine = create_sql_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the reason, the tests must fail and say why
        reason = str(getattr(exc, "orig", None) or exc).strip()
    else:
        reason = ""
    if reason:  # failed outside the except block, so the report is the reason, not a chain of tracebacks
        engine.dispose()
        pytest.fail(
            f"PostgreSQL is unreachable at {url.render_as_string(hide_password=True)}: {reason}\n"
            "Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or point "
            "OPSDESK_TEST_POSTGRES_URL at a server; to leave these tests out on purpose, run with "
            "-m 'not postgres'.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_server: Engine) -> Iterator[str]:
    """The URL of a schema of its own (through ``search_path``), dropped after the test with the connections
    the test left open.

    An engine the test did not dispose keeps its pool's connections until the garbage collector gets to it;
    one process's leftovers reached 80 connections, and two test workers' together PostgreSQL's
    ``max_connections`` (100). The connections are named after the schema (``application_name``), so the
    server closes exactly this test's.
    """
    schema = f"opsdesk_test_{uuid.uuid4().hex[:12]}"
    with pg_server.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    query = {"options": f"-csearch_path={schema}", "application_name": schema}
    url = make_url(postgres_server_url()).update_query_dict(query)
    yield url.render_as_string(hide_password=False)
    with pg_server.begin() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": schema},
        )
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[SqlDatabase]:
    engine = create_sql_engine(pg_url)
    migrate(engine)
    db = SqlDatabase(engine)
    yield db
    db.dispose()


_FIXTURES = {"memory": "memory_db", "sqlite": "sqlite_db", "postgres": "pg_db"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has a node id of its own, which pytest-xdist needs: it hands tests to its workers by node id, and
    of several tests that share one it runs a single one, silently (ADR 0044).

    schemathesis names each API operation's test ``test_x[GET /path]``, but pytest 9.2 builds a node id from the
    function's original name, so all the operations of ``tests/fuzz/test_openapi_fuzz.py`` shared one node id.
    They get the operation as their parameters, as their name has it. Then the longest files are put first
    (``tests/suite_order.py``).
    """
    for item in items:
        label = getattr(item, "operation_label", None)
        if isinstance(label, str) and isinstance(item, pytest.Function) and item.id.params is None:
            item._id = item.id.with_params(label)
    seen: set[str] = set()
    for item in items:
        if item.nodeid in seen:
            raise pytest.UsageError(f"two tests share the node id {item.nodeid}: pytest-xdist would run only one")
        seen.add(item.nodeid)
    long_files_first(items)


@pytest.fixture(params=BACKENDS)
def any_db(request: pytest.FixtureRequest) -> Database:
    """Each backend in turn: the contract every one of them keeps."""
    db: Database = request.getfixturevalue(_FIXTURES[request.param])
    return db


@pytest.fixture(params=SQL_BACKENDS)
def sql_db(request: pytest.FixtureRequest) -> SqlDatabase:
    """Each SQL backend in turn, for what only a real database can show (locks, concurrent writers)."""
    db: SqlDatabase = request.getfixturevalue(_FIXTURES[request.param])
    return db
