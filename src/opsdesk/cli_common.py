"""What every command group shares: the common options, building the desk, printing data."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from opsdesk.config import Settings
    from opsdesk.desk import Desk

ConfigOpt = Annotated[
    str | None, typer.Option("--config", "-c", help="opsdesk.yaml (default: $OPSDESK_CONFIG)")
]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="default: $OPSDESK_DATABASE_URL")]


def _any_case(value: str) -> str:
    """``--format JSON`` is ``--format json``, as ``cli_errors.asks_for_json`` reads it (ADR 0060, session 15)."""
    return value.lower()


FormatOpt = Annotated[str, typer.Option("--format", help="text or json", callback=_any_case)]
WideOpt = Annotated[
    bool, typer.Option("--wide", "-w", help="every column, nothing cut (lines may run past the terminal)")
]


def load_settings(config: str | None, database_url: str | None) -> Settings:
    """The settings of opsdesk.yaml and the environment (``config.load_settings``). Every command module imports
    only what naming and describing its commands needs; what running one needs (the configuration's models, the
    composition root, the database) is imported here and in the commands, as they run (ADR 0054, session 15)."""
    from opsdesk import config as settings

    return settings.load_settings(config, database_url)


def desk_for(config: str | None, database_url: str | None) -> Desk:
    """The desk opsdesk.yaml describes, on its database."""
    from opsdesk import app as composition

    return composition.build(load_settings(config, database_url))


def shown_url(url: str) -> str:
    """A database URL as the command line prints it: its password hidden (``***``)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def emit(data: Any, fmt: str) -> bool:
    """Print ``data`` as JSON when asked; returns whether it did."""
    refuse_unknown_format(fmt)
    if fmt == "json":
        from opsdesk.web.wire import one_time_form

        # Times in the API's one form (UTC, ending ``Z``: ADR 0059), so a script reads the CLI's as the API's.
        shown = orjson.dumps(one_time_form(data), option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z, default=str)
        sys.stdout.write(shown.decode() + "\n")
        return True
    return False


def refuse_unknown_format(fmt: str) -> None:
    """Refuse a ``--format`` other than text or json; a command that makes something it prints once (a token, an
    account) calls it first, so that nothing is made whose answer could not be printed."""
    if fmt not in ("text", "json"):
        raise InvalidInput(f"--format must be text or json, not {fmt!r}")


def note(message: str, fmt: str) -> None:
    """Say something on stderr beside a command's output: ``note: ...`` for a person; under ``--format json`` one
    JSON line, ``{"note": "..."}``, as the log's lines and the error are, so that a script reads stderr as JSON lines
    (ADR 0060 amended). Every command's notes go through here."""
    if fmt == "json":
        sys.stderr.write(orjson.dumps({"note": message}).decode() + "\n")
    else:
        sys.stderr.write(f"note: {message}\n")
    sys.stderr.flush()


def note_if_no_person(desk: Desk, name: str, role: str, fmt: str) -> None:
    """Note when a token or account acting as ``name`` is no person of the organisation: it reads and (above a
    viewer) works cases but takes none (ADR 0047). Only a note: a token for a script is meant to be no one."""
    if (known := desk.org.unknown_owner(name)) is not None:
        can = "reads cases (a viewer)" if role == "viewer" else "reads and works cases but takes none"
        note(f"{name!r} is no person under people: ({known}): it {can}; name it after a person to act as them "
             "(ADR 0047)", fmt)
