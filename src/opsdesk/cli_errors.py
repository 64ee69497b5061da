"""Where the command line turns an error into what it prints and its exit code: the CLI's one error handler.

The exit code follows the API's status (ADR 0054): 1, someone else holds the case or changed it first (409: an
answer, as a failed check's); 3, try again later (503); 2, bad input, an unknown name or a usage error (400, 404,
422). A command line asking for ``--format json`` gets the error as one JSON line on stderr, in the API's shape
(``web/errors.py``: ``error``, and ``holder`` or ``problems`` when there are) with the ``exit_code``, and nothing on
stdout; any other gets the sentence for a person (ADR 0060).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.domain.errors import Conflict, OpsdeskError, Unavailable

#: Ctrl-C, or a prompt's input ended: the shell's code for an interrupt.
INTERRUPTED = 130


def asks_for_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for ``--format json``. Read from its words, not from the parsed options: a
    usage error (an unknown option, a bad value) stops the parsing before ``--format`` is read."""
    words = list(args[: list(args).index("--")] if "--" in args else args)
    return "--format=json" in words or any(a == "--format" and b == "json" for a, b in itertools.pairwise(words))


def exit_code(exc: OpsdeskError) -> int:
    """The exit code of a refusal of the core, as the API's status for it."""
    return 1 if isinstance(exc, Conflict) else 3 if isinstance(exc, Unavailable) else 2


def refused(exc: OpsdeskError, err: Console, *, as_json: bool) -> int:
    """Print a refusal of the core; return its exit code. A conflict names who holds the case (``holder``)."""
    code = exit_code(exc)
    if not as_json:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return code
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, Conflict) and exc.holder:
        body["holder"] = exc.holder
    _write(body, code)
    return code


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


def interrupted(*, as_json: bool) -> int:
    """Ctrl-C, or a prompt whose input ended (as text, nothing more is said: the terminal showed it)."""
    if as_json:
        _write({"error": "interrupted"}, INTERRUPTED)
    return INTERRUPTED


def _write(body: dict[str, Any], code: int) -> None:
    # One line, as the log's lines are when stderr is not a terminal: it is stderr's last line.
    sys.stderr.write(orjson.dumps({**body, "exit_code": code}).decode() + "\n")
    sys.stderr.flush()
