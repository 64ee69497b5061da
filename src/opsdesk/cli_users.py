"""``opsdesk users ...`` (dashboard accounts) and ``opsdesk audit verify|rekey`` (the audit log's hash chain)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.cli_common import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    WideOpt,
    desk_for,
    emit,
    note_if_no_person,
    refuse_unknown_format,
)
from opsdesk.cli_tables import Column, print_rows
from opsdesk.domain.access import ALL_SHOPS, User
from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from opsdesk.desk import Desk

users_cli = typer.Typer(no_args_is_help=True, help="Dashboard accounts: add, passwd, disable, list.")
audit_cli = typer.Typer(no_args_is_help=True, help="The audit log: verify its hash chain, or rekey it.")
out = Console()
err = Console(stderr=True)

UserArg = Annotated[str, typer.Argument(help="the username (a-z 0-9 . _ @ -)")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from the first line of standard input")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    # On stderr, as the errors: stdout holds only the output (a JSON document under --format json).
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _check_shops(desk: Desk, shops: list[str]) -> None:
    known = {s.domain for s in desk.settings.file.shops}
    unknown = [s for s in shops if s != ALL_SHOPS and s.lower() not in known]
    if unknown:
        raise InvalidInput(
            f"unknown shop(s) {', '.join(unknown)}; shops in opsdesk.yaml: {', '.join(sorted(known))}"
        )


@users_cli.command("add")
def add(
    username: UserArg,
    role: Annotated[str, typer.Option(help="viewer, agent, lead or admin")],
    shop: Annotated[list[str], typer.Option(help="a shop domain (repeatable), or '*' for every shop")],
    person: Annotated[
        str | None, typer.Option(help="the person in opsdesk.yaml this account acts as")
    ] = None,
    name: Annotated[str | None, typer.Option(help="the name shown on the dashboard")] = None,
    password_stdin: StdinOpt = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Add an account holding ROLE in each --shop; the JSON is the account as ``users list`` shows it."""
    from opsdesk.services import users

    refuse_unknown_format(fmt)  # before the account is made, as `tokens create`
    desk = desk_for(config, database_url)
    _check_shops(desk, shop)
    if person is not None and person not in desk.settings.file.people:
        raise InvalidInput(f"no person {person!r} in the people of opsdesk.yaml")
    password = _password(password_stdin)
    with desk.db.unit_of_work() as uow:
        user = users.add_user(
            uow, username, password, name or "", dict.fromkeys(shop, role), person, now=desk.clock.now()
        )
        uow.commit()
    if not emit(account(user), fmt):
        out.print(f"[green]added[/] {user.username} ({_roles(user)})")
    note_if_no_person(desk, person or user.username, role, fmt)


@users_cli.command("passwd")
def passwd(
    username: UserArg, password_stdin: StdinOpt = False, config: ConfigOpt = None, database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Set a new password; the account's sessions end. The JSON is the account as ``users list`` shows it."""
    from opsdesk.services import users

    refuse_unknown_format(fmt)
    desk = desk_for(config, database_url)
    password = _password(password_stdin)
    with desk.db.unit_of_work() as uow:
        user = users.set_password(uow, username, password, now=desk.clock.now())
        uow.commit()
    if not emit(account(user), fmt):
        out.print(f"[green]password changed[/] for {user.username}; signed out everywhere")


@users_cli.command("disable")
def disable(
    username: UserArg, config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text"
) -> None:
    """Disable an account; its sessions end and it can no longer sign in. The JSON is the account, disabled."""
    from opsdesk.services import users

    refuse_unknown_format(fmt)
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        user = users.disable_user(uow, username, now=desk.clock.now())
        uow.commit()
    if not emit(account(user), fmt):
        out.print(f"[green]disabled[/] {user.username}")


@users_cli.command("list")
def list_users(
    config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text", wide: WideOpt = False
) -> None:
    """Every account with its roles (never a password hash)."""
    from opsdesk.services import users

    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        found = users.list_users(uow)
    if emit([account(u) for u in found], fmt):
        return
    lines = [
        (u.username, "yes" if u.disabled else "", u.person_id or "-", u.display_name or "-", _roles(u))
        for u in found
    ]
    print_rows(out, ACCOUNTS, lines, wide=wide)


def account(user: User) -> dict[str, Any]:
    """An account for a script (``--format json``): never its password hash."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "person_id": user.person_id,
        "roles": {shop: role.label for shop, role in sorted(user.roles.items())},
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


ACCOUNTS = (
    Column("username", "id"),
    Column("disabled"),
    Column("person", "id", rank=1),
    Column("name", "text", rank=2),
    Column("roles", "text"),
)


def _roles(user: User) -> str:
    return ", ".join(
        f"{role.label} in {'every shop' if shop == ALL_SHOPS else shop}"
        for shop, role in sorted(user.roles.items())
    )


@audit_cli.command("verify")
def verify(
    anchor: Annotated[
        str | None, typer.Option(help="ID:HASH of a row kept from an earlier run (its printed head)")
    ] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Recompute the audit log's hash chain; exit 1 and name the first tampered row if it does not hold."""
    from opsdesk.services.audit import verify_audit

    kept = _anchor(anchor) if anchor else None
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        report = verify_audit(uow, anchor=kept, keys=desk.settings.audit_keys)
    if not emit(report.as_dict(), fmt):
        if report.broken is None:
            head = f"{report.head_id}:{report.head_hash}"
            how = f"keyed with key {report.key_id}" if report.key_id else "plain SHA-256, no OPSDESK_AUDIT_KEY"
            out.print(
                f"[green]ok[/] {report.checked} rows, {how}; head {head} (keep it: --anchor {head})",
                soft_wrap=True,
            )
        else:
            where = f"row {report.broken.row_id}" if report.broken.row_id is not None else "the chain"
            err.print(f"[red]tampered:[/] {where}: {escape(report.broken.reason)}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@audit_cli.command("rekey")
def rekey(
    anchor: Annotated[
        str | None, typer.Option(help="ID:HASH of a row kept from an earlier verify, checked before rekeying")
    ] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Rehash the audit log under OPSDESK_AUDIT_KEY, once the chain verifies under the key it was written with.

    Run it once after setting OPSDESK_AUDIT_KEY on a desk that has audit entries (they are plain SHA-256
    until then), or to rotate: the old key in OPSDESK_AUDIT_PREVIOUS_KEY, the new one in OPSDESK_AUDIT_KEY.
    One transaction: entries wait meanwhile, and an interrupted rekey changes nothing.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from opsdesk.services.audit import rekey_audit

    kept = _anchor(anchor) if anchor else None
    desk = desk_for(config, database_url)
    with Progress(TextColumn("rekeying the audit log"), BarColumn(), MofNCompleteColumn(), console=err,
                  disable=fmt == "json") as bar:
        task = bar.add_task("rekey", total=None)
        with desk.db.unit_of_work() as uow:
            done = rekey_audit(
                uow, desk.settings.audit_keys, anchor=kept,
                progress=lambda seen, total: bar.update(task, completed=seen, total=total),
            )
            uow.commit()
    if not emit(done.as_dict(), fmt):
        before = f"key {done.old_key_id}" if done.old_key_id else "plain SHA-256"
        if done.old_key_id == done.new_key_id:
            out.print(f"[green]already keyed[/] with key {done.new_key_id}: nothing to do")
        else:
            out.print(f"[green]rekeyed[/] {done.rows} rows: {before} → key {done.new_key_id}")


def _anchor(value: str) -> tuple[int, str]:
    row, _, digest = value.partition(":")
    if not row.isdigit() or len(digest) != 64:
        raise InvalidInput("--anchor is ID:HASH, as printed by an earlier verify (e.g. 1234:3f2a...)")
    return int(row), digest
