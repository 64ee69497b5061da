"""Reliability test 13, secrets half: a dump of the whole database holds no secret in plain text.

A desk with two shops, signed webhooks, people of every role signed in through the real login form and
API tokens is dumped table by table, every column of every row as text (SQLite and PostgreSQL). None of
these may appear, in any usual encoding: the session cookies, the CSRF tokens pages carry, the API
tokens, the password, and the webhook signing secret. Their digests may (that is how they are kept).
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from opsdesk.storage.sql import SqlDatabase
from tests.samples import SECRET
from tests.security.harness import PASSWORD, World, two_shop_desk, world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def everyone(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    desk = two_shop_desk(tmp_path, monkeypatch, url)
    yield from world(desk)


def dump(db: SqlDatabase) -> str:
    """Every value of every row of every table, as text."""
    tables = MetaData()
    with warnings.catch_warnings():  # SQLite's expression indexes (ix_cases_ended) are not reflected: rows are
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        tables.reflect(db.engine)
    lines: list[str] = []
    with db.engine.connect() as conn:
        for table in tables.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        lines.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        lines.append(str(value))
    return "\n".join(lines)


def forms(secret: str) -> set[str]:
    """The secret and the encodings a careless write might store it in."""
    raw = secret.encode()
    return {secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()}


def test_a_database_dump_holds_no_token_password_or_secret(everyone: World) -> None:
    secrets = {"password": PASSWORD, "webhook secret": SECRET}
    for name, signed in everyone.people.items():
        secrets[f"{name}'s session cookie"] = signed.cookie
        secrets[f"{name}'s CSRF token"] = signed.csrf
    for role, token in everyone.tokens.items():
        secrets[f"the {role} API token"] = token
    assert len(secrets) == 2 + 2 * len(everyone.people) + len(everyone.tokens) >= 14

    text = dump(everyone.desk.db)  # type: ignore[arg-type]

    assert len(text) > 10_000  # the dump holds the desk's rows (orders, cases, audit, users, sessions)
    found = sorted(name for name, secret in secrets.items() if any(form in text for form in forms(secret)))
    assert found == []
    # the control: what is kept in their place is there, so the dump did read those tables
    assert "argon2id" in text
