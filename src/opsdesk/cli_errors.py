"""Where the command line turns an error into what it prints and its exit code: the CLI's one error handler.

The exit code follows the API's status (ADR 0054): 1, someone else holds the case or changed it first (409: an
answer, as a failed check's); 3, try again later (503); 2, bad input, an unknown name, a usage error or a path
given that cannot be used (400, 404, 422); 70, opsdesk itself failed (a bug, a process of its own: the API's 500),
its traceback logged. A command line asking for ``--format json`` gets the error as one JSON line on stderr, in
the API's shape (``web/errors.py``: ``error``, and ``holder`` or ``problems`` when there are) with the
``exit_code``, and nothing on stdout; any other gets the sentence for a person (ADR 0060).
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.domain.errors import (
    Conflict,
    DataRefused,
    InvalidInput,
    NotFound,
    OpsdeskError,
    SchemaAhead,
    Unavailable,
)

#: Ctrl-C, or a prompt's input ended: the shell's code for an interrupt.
INTERRUPTED = 130
#: opsdesk itself failed, not the input nor a dependency: sysexits' EX_SOFTWARE, apart from every answer.
FAILED = 70


@cache
def codes() -> tuple[tuple[type[OpsdeskError], int], ...]:
    """Each kind of error's exit code, the first that matches (ADR 0054, amended). A test walks every error class of
    opsdesk, so that a new one is placed here; one that is not is a refusal of the core, 2. Made when an error is
    met: the errors of the services and the simulator are not imported for a command that meets none."""
    from opsdesk.services.privacy import PrivacyDeferred, PrivacyFailed
    from opsdesk.services.reconcile_report import SweepRefused
    from opsdesk.simulator.feed import GeneratorFailed

    return (
        (Conflict, 1),
        (SweepRefused, 2),  # an Unavailable (the sweep stops, its mark kept), but Shopify refused: no use asking again
        (Unavailable, 3),  # SweepFailed too: Shopify's Admin API did not answer the sweep
        (PrivacyDeferred, 3),  # not an Unavailable: the timer sweep records it and retries it, as any failure
        (GeneratorFailed, FAILED),
        (PrivacyFailed, FAILED),  # the timer's wrap of whatever its request raised
        (InvalidInput, 2),
        (NotFound, 2),
        (DataRefused, 2),
        (SchemaAhead, 2),  # the database named was upgraded by a newer opsdesk: name another, or run that one
        # (UnknownDictionary too: a stored body that a newer opsdesk, or another program, packed)
    )


log = logging.getLogger(__name__)


def asks_for_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``--format json``, in any case (``JSON``), as the option reads it. Read
    from its words, not from the parsed options: a usage error (an unknown option, a bad value) stops the parsing
    before ``--format`` is read."""
    words = list(args[: list(args).index("--")] if "--" in args else args)
    if any(w.lower() == "--format=json" for w in words):
        return True
    return any(a == "--format" and b.lower() == "json" for a, b in itertools.pairwise(words))


def exit_code(exc: OpsdeskError) -> int:
    """The exit code of an error of opsdesk's, as the API's status for it."""
    return next((code for kind, code in codes() if isinstance(exc, kind)), 2)


def refused(exc: OpsdeskError, err: Console, *, as_json: bool) -> int:
    """Print a refusal of the core; return its exit code. A conflict names who holds the case (``holder``); a file
    that is not valid (``opsdesk.yaml``, a playbook) each of its ``problems``, as the API's 422 names each field."""
    from opsdesk.yamldoc import InvalidDocument

    extra: dict[str, Any] = {}
    if isinstance(exc, Conflict) and exc.holder:
        extra["holder"] = exc.holder
    if isinstance(exc, InvalidDocument) and exc.problems:
        extra["problems"] = [p.as_dict() for p in exc.problems]
    return _said(str(exc), exit_code(exc), err, as_json=as_json, **extra)


def misused(exc: typer.TyperException, err: Console, *, as_json: bool) -> int:
    """Print a usage error (no such command or option, a missing argument, a bad value); return its exit code.

    These are typer's own click's (``typer._click``), not the click package's: read by what they have. As text, the
    usage, "Try ... --help" and the error; as JSON, a bad or missing value is also a ``problems`` entry, as the
    API's 422 names each field (``{"at": "--limit", "problem": "..."}``)."""
    if not as_json:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"[red]error:[/] {escape(exc.format_message())}", soft_wrap=True)
        return exc.exit_code
    body: dict[str, Any] = {"error": exc.format_message()}
    param = getattr(exc, "param", None)
    if param is not None and getattr(param, "opts", None):
        body["problems"] = [{"at": param.opts[0], "problem": getattr(exc, "message", "") or "missing"}]
    _write(body, exc.exit_code)
    return exc.exit_code


def failed(exc: Exception, err: Console, *, as_json: bool, given: Sequence[Path] = ()) -> int:
    """Print what escaped every command; return its exit code.

    An ``OSError`` naming a path the user gave (``given``: ``given_paths``), or one inside it, is about that path (a
    folder it cannot write, a file that is not there): bad input, 2, as the API's 400; the same command fails again
    until the path or its permissions change. Anything else is opsdesk's own failure, 70, an ``OSError`` on a path
    of its own included: its traceback goes to the log (stderr), for the person."""
    if isinstance(exc, OSError) and exc.filename is not None and _inside(exc.filename, given):
        return refused(InvalidInput(f"cannot use {exc.filename}: {exc.strerror or exc}"), err, as_json=as_json)
    log.error("opsdesk failed", exc_info=exc)
    message = f"opsdesk failed: {type(exc).__name__}: {exc} (the log above has the traceback)"
    return _said(message, FAILED, err, as_json=as_json)


def given_paths(args: Sequence[str]) -> list[Path]:
    """The paths the user gave: each word of the command line (an option's ``--name=value`` value too), and the
    configuration file with the folders it names (``playbooks``, ``privacy.export_dir``) when it can be read."""
    from opsdesk.config import load_settings

    words = [w.split("=", 1)[1] if w.startswith("--") and "=" in w else w for w in args]
    found = [Path(w) for w in words if w and not w.startswith("-")]
    flags = list(args)
    named = next((b for a, b in itertools.pairwise(flags) if a in ("--config", "-c")), None)
    try:
        settings = load_settings(named, None)
    except Exception:  # an unreadable configuration names no paths; its error is the one reported
        return found
    return [*found, settings.config_path, settings.playbooks_dir, settings.privacy_export_dir]


def _inside(filename: str | bytes | int, given: Sequence[Path]) -> bool:
    if not isinstance(filename, str):
        return False
    path = Path(filename).resolve()
    return any(path == p or path.is_relative_to(p) for p in (g.resolve() for g in given))


def interrupted(*, as_json: bool) -> int:
    """Ctrl-C, or a prompt whose input ended (as text, nothing more is said: the terminal showed it)."""
    if as_json:
        _write({"error": "interrupted"}, INTERRUPTED)
    return INTERRUPTED


def _said(message: str, code: int, err: Console, *, as_json: bool, **extra: Any) -> int:
    if as_json:
        _write({"error": message, **extra}, code)
    else:
        err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    return code


def _write(body: dict[str, Any], code: int) -> None:
    # One line, as the log's lines are when stderr is not a terminal: it is stderr's last line.
    sys.stderr.write(orjson.dumps({**body, "exit_code": code}).decode() + "\n")
    sys.stderr.flush()
