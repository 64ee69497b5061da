"""The desk's logs: one handler on stderr, JSON lines for a machine or readable text on a terminal (ADR 0033).

Modules log with ``logging.getLogger(...)`` and say what an operator needs in ``extra=`` (shop, webhook id,
action id, timer id); ``configure`` is called once, by the command line's entry point, and is the only
logging set-up in the code. uvicorn's loggers propagate to the same handler (``run_server`` passes
``log_config=None``), so a server's lines have the same shape as the desk's.

What a record says goes to whoever reads the logs: never a secret, a token, a delivery's body or a
customer's personal data (the database's errors leave their parameters out, ``storage/sql.py``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from opsdesk.domain.errors import InvalidInput

FORMATS = ("json", "text")
#: The loggers the level applies to; the libraries' (httpx logs every request at INFO) stay at WARNING.
OURS = ("opsdesk", "uvicorn")
#: What every record has; the rest of its attributes came from ``extra=``. uvicorn adds ``color_message``
#: (its message again, with terminal colours) to the records of its own formatter.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def stamp(record: logging.LogRecord) -> str:
    """When the record was made, in UTC, ISO 8601 to the millisecond."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's ``extra`` fields."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the ``extra`` fields, and the
    traceback as the ``exc_info`` string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": stamp(record), "level": record.levelname, "logger": record.name, "message": record.getMessage()
        }
        for key, value in fields(record).items():
            entry.setdefault(key, value)  # an extra named like one of the four does not replace it
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``, the traceback under it: for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{key}={value}" for key, value in fields(record).items())
        return f"{super().formatMessage(record)} {extra}" if extra else super().formatMessage(record)


class StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each record, not as it was at start-up: while a Rich progress bar
    redirects stderr (``simulate``, ``demo``, ``ingest``), the lines are printed above the bar, not through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def access_fields(record: logging.LogRecord) -> bool:
    """uvicorn's access lines (``serve --access-log``) as fields, the query string left out of both: it can
    carry what a person searched for."""
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        path = str(path).split("?", 1)[0]
        record.args = (client, method, path, version, status)
        record.__dict__.update(client=client, method=method, path=path, status=status)
    return True


def configure(environ: Mapping[str, str], *, terminal: bool) -> logging.Handler:
    """Send every record to one stderr handler: ``OPSDESK_LOG_FORMAT`` (json or text; default text on a
    terminal, JSON otherwise) and ``OPSDESK_LOG_LEVEL`` (default INFO, for opsdesk's and uvicorn's loggers).

    Called again, it replaces the handler it added before.
    """
    fmt = environ.get("OPSDESK_LOG_FORMAT", "").strip().lower() or ("text" if terminal else "json")
    if fmt not in FORMATS:
        raise InvalidInput(f"OPSDESK_LOG_FORMAT must be json or text, not {fmt!r}")
    name = environ.get("OPSDESK_LOG_LEVEL", "").strip().upper() or "INFO"
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        raise InvalidInput(f"OPSDESK_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {name!r}")
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(access_fields)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(level, logging.WARNING))
    for name in OURS:
        logging.getLogger(name).setLevel(level)
    # Ours to configure, with their children: an earlier configuration (uvicorn's own, in a process that ran a
    # server with it) may have given one a handler and level of its own, stopped it propagating, or disabled it.
    known = [n for n in logging.root.manager.loggerDict if n in OURS or n.startswith(tuple(f"{o}." for o in OURS))]
    for name in known:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate, logger.disabled = True, False
        if name not in OURS:
            logger.setLevel(logging.NOTSET)
    return handler
