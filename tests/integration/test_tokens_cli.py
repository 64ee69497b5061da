"""``opsdesk tokens list|revoke`` as a user runs them: real processes on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from tests.integration.test_cli import init, opsdesk


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk_dir(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """An initialised desk directory and the database URL every command of the test is given."""
    init(tmp_path)
    url = f"sqlite:///{tmp_path / 'opsdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    return tmp_path, url


def tokens(*args: str, where: tuple[Path, str]) -> tuple[int, str, str]:
    directory, url = where
    done = opsdesk("tokens", *args, "--database-url", url, cwd=directory)
    return done.returncode, done.stdout, " ".join(done.stderr.split())


def stored(url: str) -> dict[str, tuple[str, str]]:
    """The tokens as the database holds them, by name: (id, digest)."""
    engine = create_sql_engine(url)
    try:
        with engine.connect() as conn:
            return {name: (i, d) for i, name, d in conn.execute(text("SELECT id, name, digest FROM api_tokens"))}
    finally:
        engine.dispose()


def revocations(url: str) -> list[tuple[str, str, str | None, str | None]]:
    db = SqlDatabase(create_sql_engine(url))
    try:
        with db.unit_of_work(read_only=True) as uow:
            rows = uow.audit.chain(0, 100)
    finally:
        db.dispose()
    return [(r.actor, r.subject, r.before, r.after) for r in rows if r.action == "token.revoke"]


def test_list_shows_every_token_with_its_role_and_never_the_token_or_its_digest(desk_dir: tuple[Path, str]) -> None:
    made = {name: tokens("create", name, "--role", role, where=desk_dir)[1].strip()
            for name, role in (("ci", "agent"), ("wall board", "viewer"))}
    ids = stored(desk_dir[1])
    assert tokens("revoke", ids["ci"][0], where=desk_dir)[0] == 0

    code, listed, _ = tokens("list", "--format", "json", where=desk_dir)
    assert code == 0
    rows = json.loads(listed)
    assert [{k: v for k, v in r.items() if k != "created_at"} for r in rows] == [
        {"id": ids["ci"][0], "name": "ci", "role": "agent", "revoked": True},
        {"id": ids["wall board"][0], "name": "wall board", "role": "viewer", "revoked": False},
    ]
    assert all(r["created_at"].endswith("Z") for r in rows)

    code, table, _ = tokens("list", where=desk_dir)
    assert code == 0
    created = [datetime.fromisoformat(r["created_at"]).strftime("%Y-%m-%d %H:%M UTC").split() for r in rows]
    header, *lines = table.splitlines()
    assert [line.split() for line in [header, *lines]] == [
        ["id", "role", "revoked", "created", "name"],
        [ids["ci"][0], "agent", "yes", *created[0], "ci"],
        [ids["wall board"][0], "viewer", *created[1], "wall", "board"],
    ]
    for secret in [*made.values(), *(digest for _, digest in ids.values())]:
        assert secret not in listed and secret not in table


def test_revoking_a_token_audits_it_once_and_revoking_it_again_changes_nothing(desk_dir: tuple[Path, str]) -> None:
    tokens("create", "ci", "--role", "agent", where=desk_dir)
    [(token_id, _)] = stored(desk_dir[1]).values()

    code, said, _ = tokens("revoke", token_id, where=desk_dir)
    assert (code, said.strip()) == (
        0, f"revoked token {token_id} (ci, agent): the API refuses it from its next request")
    again, said_again, _ = tokens("revoke", token_id, where=desk_dir)
    assert (again, said_again.strip()) == (0, f"token {token_id} (ci, agent) was already revoked: nothing changed")

    before = {"name": "ci", "role": "agent", "revoked": False}
    [(actor, subject, was, now)] = revocations(desk_dir[1])
    assert (actor, subject, json.loads(was or ""), json.loads(now or "")) == (
        "cli", f"token:{token_id}", before, {**before, "revoked": True})


def test_revoking_an_unknown_id_is_an_error_with_exit_code_2(desk_dir: tuple[Path, str]) -> None:
    tokens("create", "ci", "--role", "agent", where=desk_dir)

    code, said, err = tokens("revoke", "0123456789abcdef", where=desk_dir)

    assert (code, said, err) == (2, "", "error: no API token '0123456789abcdef' (opsdesk tokens list shows their ids)")
    assert revocations(desk_dir[1]) == []
    assert json.loads(tokens("list", "--format", "json", where=desk_dir)[1])[0]["revoked"] is False


def test_create_prints_the_token_once_as_json_for_a_script(desk_dir: tuple[Path, str]) -> None:
    """The public contract: a command that prints data takes ``--format json``; the token with its id, as listed."""
    code, out, err = tokens("create", "ci", "--role", "agent", "--format", "json", where=desk_dir)
    assert (code, json.loads(err)) == (0, {"note": "'ci' is no person under people: (people: alice, bob, carol, dan): "
                                       "it reads and works cases but takes none; name it after a person to act as "
                                       "them (ADR 0047)"})  # a JSON line, as the error would be (ADR 0060)
    made = json.loads(out)
    token_id, token_digest = stored(desk_dir[1])["ci"]
    assert made == {"id": token_id, "name": "ci", "role": "agent", "created_at": made["created_at"],
                    "token": made["token"]}
    assert hashlib.sha256(made["token"].encode()).hexdigest() == token_digest
    assert datetime.fromisoformat(made["created_at"]).utcoffset() is not None
    # a format it cannot print in makes no token: one never shown could not be used
    assert tokens("create", "ci2", "--format", "xml", where=desk_dir)[0::2] == (
        2, "error: --format must be text or json, not 'xml'")
    assert "ci2" not in stored(desk_dir[1])
