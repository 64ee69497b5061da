"""A keyed audit chain (ADR 0024): HMAC-SHA256 under a key kept outside the database.

Someone who can write to the database but does not hold ``OPSDESK_AUDIT_KEY`` cannot make a changed row
hold, nor rebuild the whole chain, head included, so that it verifies: no kept anchor is needed. A
chain written plain (before a key was set) is rekeyed once, after it verifies; a key is rotated the same way.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.audit import AuditKeys, entry_hash, key_id
from opsdesk.domain.errors import InvalidInput
from opsdesk.ports import Database
from opsdesk.services.audit import check_writable, rekey_audit, verify_audit
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from tests.security.test_audit_chain import execute, rows, write

OLD = b"the-old-audit-key-kept-in-a-vault-0001"
NEW = b"the-new-audit-key-kept-in-a-vault-0002"


def keyed(db: SqlDatabase, current: bytes | None, previous: bytes | None = None) -> SqlDatabase:
    """The same database as a desk holding these keys sees it."""
    return SqlDatabase(db.engine, audit_keys=AuditKeys(current, previous))


def verify(db: Database, keys: AuditKeys, **kwargs: Any) -> Any:
    with db.unit_of_work(read_only=True) as uow:
        return verify_audit(uow, keys=keys, **kwargs)


def rekey(db: Database, keys: AuditKeys) -> Any:
    with db.unit_of_work() as uow:
        done = rekey_audit(uow, keys)
        uow.commit()
    return done


def stamp(row: dict[str, Any]) -> datetime:
    at = row["at"]  # PostgreSQL gives a datetime, SQLite the stored text
    return (datetime.fromisoformat(at) if isinstance(at, str) else at).replace(tzinfo=UTC)


def plain_hash(prev: str, row: dict[str, Any], actor: str) -> str:
    return entry_hash(prev, stamp(row), actor, row["action"], row["subject"], row["before"], row["after"])


def rebuild_without_the_key(db: SqlDatabase, key_id_on_head: str | None) -> None:
    """What someone with the database and not the key can do: change row 2, recompute every hash and the head."""
    prev = ""
    for row in rows(db.engine):
        actor = "mallory" if row["id"] == 2 else row["actor"]
        digest = plain_hash(prev, row, actor)
        execute(db.engine, "UPDATE audit SET actor = :a, prev_hash = :p, hash = :h WHERE id = :id",
                a=actor, p=prev, h=digest, id=row["id"])
        prev = digest
    execute(db.engine, "UPDATE audit_head SET hash = :h, key_id = :k", h=prev, k=key_id_on_head)


def test_a_keyed_chain_verifies_with_its_key_and_names_it(sql_db: SqlDatabase) -> None:
    db = keyed(sql_db, NEW)
    write(db, 6)
    report = verify(db, AuditKeys(NEW))
    assert (report.ok, report.checked, report.key_id) == (True, 6, key_id(NEW))
    first = rows(db.engine)[0]
    assert first["hash"] != plain_hash("", first, first["actor"]), "the first row was hashed without the key"
    with pytest.raises(InvalidInput, match="keyed with key"):
        verify(db, AuditKeys())  # the key is needed to check it
    with pytest.raises(InvalidInput, match="keyed with key"):
        verify(db, AuditKeys(OLD))


@pytest.mark.parametrize("head_key", ["kept", "cleared"])
def test_a_chain_rebuilt_without_the_key_is_found_without_an_anchor(sql_db: SqlDatabase, head_key: str) -> None:
    db = keyed(sql_db, NEW)
    write(db, 5)
    rebuild_without_the_key(db, key_id(NEW) if head_key == "kept" else None)
    report = verify(db, AuditKeys(NEW))
    assert not report.ok
    # Hashes made without the key fail at the first row; a head made to say "plain" is called out.
    assert report.broken.row_id == (1 if head_key == "kept" else None)
    if head_key == "cleared":  # without the key it passes: why a plain chain needs an anchor kept elsewhere
        assert verify(db, AuditKeys()).ok


def test_a_plain_chain_is_extended_only_after_a_rekey(sql_db: SqlDatabase) -> None:
    write(sql_db, 4)  # written before the key was set
    db = keyed(sql_db, NEW)
    with pytest.raises(InvalidInput, match="opsdesk audit rekey"):
        write(db, 1, start=4)
    with db.unit_of_work(read_only=True) as uow, pytest.raises(InvalidInput, match="opsdesk audit rekey"):
        check_writable(uow, AuditKeys(NEW))
    assert not verify(db, AuditKeys(NEW)).ok  # plain where a key is set: reported until rekeyed
    done = rekey(db, AuditKeys(NEW))
    assert done.as_dict() == {"rows": 4, "old_key_id": None, "new_key_id": key_id(NEW)}
    write(db, 3, start=4)
    assert (verify(db, AuditKeys(NEW)).ok, verify(db, AuditKeys(NEW)).checked) == (True, 7)
    assert rekey(db, AuditKeys(NEW)).rows == 0  # already keyed: nothing to do


def test_a_key_is_rotated_with_the_old_one_as_previous(sql_db: SqlDatabase) -> None:
    write(keyed(sql_db, OLD), 3)
    rotating = keyed(sql_db, NEW, OLD)
    assert verify(rotating, AuditKeys(NEW, OLD)).ok  # either key verifies during the rotation
    with pytest.raises(InvalidInput, match="opsdesk audit rekey"):
        write(rotating, 1, start=3)
    assert rekey(rotating, AuditKeys(NEW, OLD)).old_key_id == key_id(OLD)
    write(keyed(sql_db, NEW), 2, start=3)
    assert verify(sql_db, AuditKeys(NEW)).ok
    with pytest.raises(InvalidInput):
        verify(sql_db, AuditKeys(OLD))


def test_a_tampered_chain_is_not_rekeyed_and_nothing_changes(sql_db: SqlDatabase) -> None:
    write(sql_db, 4)
    execute(sql_db.engine, "UPDATE audit SET actor = 'mallory' WHERE id = 3")
    before = rows(sql_db.engine)
    with pytest.raises(InvalidInput, match="row 3"):
        rekey(sql_db, AuditKeys(NEW))
    assert rows(sql_db.engine) == before
    with sql_db.engine.connect() as conn:
        assert conn.execute(text("SELECT key_id FROM audit_head")).scalar_one() is None


def test_a_key_shorter_than_32_characters_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSDESK_AUDIT_KEY", "short")
    result = subprocess.run([sys.executable, "-m", "opsdesk", "audit", "verify", "--database-url",
                             f"sqlite:///{tmp_path / 'x.db'}"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "OPSDESK_AUDIT_KEY must be at least 32 characters" in result.stderr


def test_the_commands_rekey_and_verify_with_the_key_from_the_environment(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path), "--database-url", url]).exit_code == 0
    db = SqlDatabase(create_sql_engine(url))
    write(db, 3)  # entries made before the key was set
    monkeypatch.setenv("OPSDESK_AUDIT_KEY", NEW.decode())
    args = ["--database-url", url, "--config", str(tmp_path / "opsdesk.yaml")]
    # A worker started with the key refuses at once instead of failing at its first audited change.
    worker = subprocess.run([sys.executable, "-m", "opsdesk", "worker", *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert worker.returncode != 0 and "opsdesk audit rekey" in worker.stderr + worker.stdout
    stale = runner.invoke(cli, ["audit", "verify", *args])
    assert stale.exit_code == 1 and "plain SHA-256 but OPSDESK_AUDIT_KEY is set" in stale.output
    done = runner.invoke(cli, ["audit", "rekey", *args])
    assert done.exit_code == 0, done.output
    assert f"rekeyed 3 rows: plain SHA-256 → key {key_id(NEW)}" in done.output
    ok = runner.invoke(cli, ["audit", "verify", *args, "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.replace(" ", "").count(f'"key_id":"{key_id(NEW)}"') == 1
    db.dispose()
