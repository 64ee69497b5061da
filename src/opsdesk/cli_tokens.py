"""``opsdesk tokens create|list|revoke``: API tokens, printed once, listed and revoked by id."""

from __future__ import annotations

from typing import Annotated

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
from opsdesk.cli_tables import Column, print_rows, when
from opsdesk.domain.records import ApiToken

tokens_cli = typer.Typer(no_args_is_help=True, help="API tokens: create, list, revoke.")
out = Console()

TOKENS = (
    Column("id", "id"),
    Column("role"),
    Column("revoked"),
    Column("created", rank=1),
    Column("name", "text"),
)


@tokens_cli.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    role: Annotated[str, typer.Option(help="viewer, agent, lead or admin")] = "viewer",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Create an API token and print it once (only its digest is stored); the JSON adds its id, as listed."""
    from opsdesk.services import tokens as token_service

    refuse_unknown_format(fmt)  # before the token is made: one it could not print would be lost
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        token = token_service.create_token(uow, name, role, desk.clock.now())
        made = token_service.authenticate(uow, token)
        uow.commit()
    assert made is not None  # just written in this unit of work
    listed = {k: v for k, v in _row(made).items() if k != "revoked"}
    if not emit({**listed, "token": token}, fmt):
        out.print(token, soft_wrap=True)
    note_if_no_person(desk, name, role, fmt)


@tokens_cli.command("list")
def list_tokens(
    config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text", wide: WideOpt = False
) -> None:
    """Every API token, oldest first: id, role, revoked, created, name (never the token or its digest)."""
    from opsdesk.services import tokens as token_service

    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        found = token_service.list_tokens(uow)
    if emit([_row(t) for t in found], fmt):
        return
    lines = [(t.id, t.role, "yes" if t.revoked else "", when(t.created_at, zone=True), t.name) for t in found]
    print_rows(out, TOKENS, lines, wide=wide)


@tokens_cli.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="the token's id, as `tokens list` shows it")],
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Revoke an API token: the API refuses it (401) from its next request. Revoking it again changes nothing.

    The JSON is the token as ``tokens list`` shows it, and ``already_revoked``: whether it was before."""
    from opsdesk.services import tokens as token_service

    refuse_unknown_format(fmt)
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        done = token_service.revoke_token(uow, token_id, desk.clock.now())
        uow.commit()
    token = done.token
    if emit({**_row(token), "already_revoked": done.already}, fmt):
        return
    which = escape(f"token {token.id} ({token.name}, {token.role})")
    if done.already:
        out.print(f"{which} was already revoked: nothing changed", soft_wrap=True)
    else:
        out.print(f"[green]revoked[/] {which}: the API refuses it from its next request", soft_wrap=True)


def _row(token: ApiToken) -> dict[str, object]:
    """A token for a script (``--format json``): never the token or its digest."""
    return {"id": token.id, "name": token.name, "role": token.role, "created_at": token.created_at,
            "revoked": token.revoked}
