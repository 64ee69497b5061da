"""Accounts: Argon2id at the ASVS parameters, roles per shop, and the CLI that manages them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.access import ALL_SHOPS, Role
from opsdesk.domain.errors import Conflict, InvalidInput, NotFound
from opsdesk.ports import Database
from opsdesk.services import users

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def add(db: Database, name: str = "alice", roles: dict[str, Role | str] | None = None) -> users.User:
    with db.unit_of_work() as uow:
        user = users.add_user(
            uow, name, PASSWORD, "Alice", roles or {"a.myshopify.com": "agent"}, "alice", now=NOW
        )
        uow.commit()
    return user


def test_passwords_are_kept_as_argon2id_at_19_mib_2_passes_1_lane(any_db: Database) -> None:
    user = add(any_db)
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    with any_db.unit_of_work(read_only=True) as uow:
        stored = uow.users.find("alice")
    assert stored == user
    assert PASSWORD not in repr(stored)


def test_an_account_signs_in_with_its_password_only(any_db: Database) -> None:
    add(any_db, "Alice")  # usernames are kept in lower case
    with any_db.unit_of_work() as uow:
        assert users.authenticate(uow, "ALICE", PASSWORD, now=NOW).outcome == "ok"
        assert users.authenticate(uow, "alice", PASSWORD + "!", now=NOW).outcome == "invalid"
        assert users.authenticate(uow, "bob", PASSWORD, now=NOW).outcome == "invalid"


def test_a_taken_username_a_short_password_and_an_unknown_role_are_refused(any_db: Database) -> None:
    add(any_db)
    with any_db.unit_of_work() as uow:
        with pytest.raises(Conflict):
            users.add_user(uow, "alice", PASSWORD, "", {"a.myshopify.com": "agent"}, now=NOW)
        with pytest.raises(InvalidInput, match="12 to 1024 characters"):
            users.add_user(uow, "bob", "short", "", {"a.myshopify.com": "agent"}, now=NOW)
        with pytest.raises(InvalidInput, match="unknown role 'owner'"):
            users.add_user(uow, "bob", PASSWORD, "", {"a.myshopify.com": "owner"}, now=NOW)
        with pytest.raises(InvalidInput, match="username"):
            users.add_user(uow, "bob smith", PASSWORD, "", {"a.myshopify.com": "agent"}, now=NOW)
        with pytest.raises(NotFound):
            users.set_password(uow, "nobody", PASSWORD, now=NOW)


def test_every_account_change_writes_one_audit_record(any_db: Database) -> None:
    add(any_db)
    with any_db.unit_of_work() as uow:
        users.set_password(uow, "alice", PASSWORD + "2", now=NOW)
        users.set_roles(uow, "alice", {"a.myshopify.com": "lead"}, now=NOW)
        users.disable_user(uow, "alice", now=NOW)
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        trail = [(r.action, r.subject) for r in uow.audit.chain(0, 100)]
    assert trail == [(a, "user:alice") for a in ("user.add", "user.password", "user.roles", "user.disable")]


def test_a_principal_holds_the_role_of_each_shop_and_star_means_every_configured_shop() -> None:
    user = users.User(
        "boss", "Boss", "", {ALL_SHOPS: Role.ADMIN, "b.myshopify.com": Role.VIEWER}, NOW, "boss"
    )
    principal = users.principal_for(user, ("a.myshopify.com", "b.myshopify.com"), "sid")
    assert principal.roles == {"a.myshopify.com": Role.ADMIN, "b.myshopify.com": Role.VIEWER}
    assert principal.role_in("A.myshopify.com") is Role.ADMIN
    assert principal.role_in("c.myshopify.com") is None
    assert principal.shops_with(Role.LEAD) == {"a.myshopify.com"}
    assert (principal.actor, principal.session_id) == ("boss", "sid")


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]
    result = CliRunner().invoke(cli, [*args, *where], input=stdin, env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_the_cli_adds_lists_changes_and_disables_accounts_and_verifies_the_audit_log(tmp_path: Path) -> None:
    config = {"shops": [{"domain": "a.myshopify.com"}], "people": {"alice": {"name": "Alice"}}}
    (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(config))
    code, output = run(
        tmp_path,
        "users",
        "add",
        "alice",
        "--role",
        "agent",
        "--shop",
        "a.myshopify.com",
        "--person",
        "alice",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, output
    assert (
        run(
            tmp_path,
            "users",
            "add",
            "bob",
            "--role",
            "agent",
            "--shop",
            "b.myshopify.com",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )[0]
        != 0
    )  # not a shop of opsdesk.yaml
    code, output = run(tmp_path, "users", "list", "--format", "json")
    listed = json.loads(output)
    assert [(u["username"], u["person_id"], u["roles"], u["disabled"]) for u in listed] == [
        ("alice", "alice", {"a.myshopify.com": "agent"}, False)
    ]
    assert "argon2" not in output
    assert (
        run(tmp_path, "users", "passwd", "alice", "--password-stdin", stdin="another long password\n")[0] == 0
    )
    assert run(tmp_path, "users", "disable", "alice")[0] == 0
    assert json.loads(run(tmp_path, "users", "list", "--format", "json")[1])[0]["disabled"] is True

    code, output = run(tmp_path, "audit", "verify", "--format", "json")
    report = json.loads(output)
    assert (code, report["ok"], report["checked"]) == (0, True, 3)
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path}/opsdesk.db")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit SET actor = 'mallory' WHERE id = 2"))
    engine.dispose()
    code, output = run(tmp_path, "audit", "verify")
    assert code == 1
    assert "row 2" in output


def test_failed_sign_ins_older_than_the_window_are_forgotten_for_every_name(any_db: Database) -> None:
    from datetime import timedelta

    add(any_db)
    with any_db.unit_of_work() as uow:
        for name in ("alice", "ghost-1", "ghost-2"):
            users.authenticate(uow, name, "wrong password!", now=NOW)
        users.authenticate(uow, "ghost-3", "wrong password!", now=NOW + timedelta(minutes=61))
        counts = [uow.users.failures_since(n, NOW) for n in ("alice", "ghost-1", "ghost-2", "ghost-3")]
        uow.commit()
    assert counts == [0, 0, 0, 1]
