"""The desk's logs: JSON lines or text on stderr, chosen by the terminal and the environment (ADR 0033)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from rich.console import Console
from rich.progress import Progress

from opsdesk import logs
from opsdesk.domain.errors import InvalidInput

LOGGERS = ("", "opsdesk", "uvicorn", "httpx")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``configure`` sets up the process's loggers: each test gets them back as they were."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in LOGGERS]
    handlers = list(logging.getLogger().handlers)
    yield
    for logger, level in saved:
        logger.setLevel(level)
    logging.getLogger().handlers[:] = handlers


def lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure({}, terminal=False)

    logging.getLogger("opsdesk.outbox").warning(
        "action %s failed", "a-1", extra={"action_id": "a-1", "shop": "s.myshopify.com", "attempt": 3}
    )

    [line] = lines(capsys.readouterr().err)
    stamp = line.pop("time")
    assert stamp.endswith("+00:00") and stamp[10] == "T" and len(stamp) == len("2026-01-05T09:00:00.000+00:00")
    assert line == {
        "level": "WARNING", "logger": "opsdesk.outbox", "message": "action a-1 failed",
        "action_id": "a-1", "shop": "s.myshopify.com", "attempt": 3,
    }


def test_an_exception_is_one_exc_info_string_and_an_extra_cannot_replace_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure({"OPSDESK_LOG_FORMAT": "json"}, terminal=True)
    try:
        raise ValueError("the connector's answer was unreadable")
    except ValueError:
        logging.getLogger("opsdesk.timers").exception("timer %s failed", 7, extra={"level": "fine"})

    [line] = lines(capsys.readouterr().err)
    assert (line["level"], line["message"]) == ("ERROR", "timer 7 failed")
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("ValueError: the connector's answer was unreadable")


def test_text_on_a_terminal_json_otherwise_and_the_environment_decides_over_both(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("opsdesk.desk")
    chosen = []
    for environ, terminal in [({}, True), ({}, False), ({"OPSDESK_LOG_FORMAT": "text"}, False),
                              ({"OPSDESK_LOG_FORMAT": "JSON"}, True)]:
        logs.configure(environ, terminal=terminal)
        log.warning("reconciliation of %s failed", "s.myshopify.com", extra={"shop": "s.myshopify.com"})
        [line] = capsys.readouterr().err.splitlines()  # configured again, it replaced its handler
        chosen.append("json" if line.startswith("{") else line.split(" ", 1)[1])
    assert chosen == [
        "WARNING opsdesk.desk: reconciliation of s.myshopify.com failed shop=s.myshopify.com",
        "json",
        "WARNING opsdesk.desk: reconciliation of s.myshopify.com failed shop=s.myshopify.com",
        "json",
    ]


def test_the_level_is_info_by_default_for_ours_and_uvicorn_while_libraries_say_only_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def said(environ: dict[str, str]) -> list[str]:
        logs.configure(environ, terminal=False)
        for name in ("opsdesk.intake", "uvicorn.error", "httpx"):
            logging.getLogger(name).debug("debug")
            logging.getLogger(name).info("info")
            logging.getLogger(name).warning("warning")
        return [f"{line['logger']} {line['message']}" for line in lines(capsys.readouterr().err)]

    assert said({}) == ["opsdesk.intake info", "opsdesk.intake warning", "uvicorn.error info",
                        "uvicorn.error warning", "httpx warning"]
    assert said({"OPSDESK_LOG_LEVEL": "debug"})[:3] == ["opsdesk.intake debug", "opsdesk.intake info",
                                                         "opsdesk.intake warning"]
    assert said({"OPSDESK_LOG_LEVEL": "ERROR"}) == []


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OPSDESK_LOG_FORMAT": "xml"}, "OPSDESK_LOG_FORMAT must be json or text, not 'xml'"),
        ({"OPSDESK_LOG_LEVEL": "loud"},
         "OPSDESK_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'LOUD'"),
    ],
)
def test_a_format_or_level_it_does_not_know_is_refused_saying_what_it_takes(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        logs.configure(environ, terminal=False)
    assert str(refused.value) == message


def test_a_record_logged_while_a_progress_bar_runs_is_printed_above_the_bar_not_into_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rich redirects stderr while its bar is live: the handler writes where stderr is at each record."""
    logs.configure({"OPSDESK_LOG_FORMAT": "text"}, terminal=True)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with Progress(console=console, auto_refresh=False) as progress:
        task = progress.add_task("simulating", total=2)
        progress.advance(task)
        logging.getLogger("opsdesk.simulator").warning("a batch of 3 deliveries was refused")
        progress.advance(task)

    assert capsys.readouterr().err == ""  # nothing went around the bar to the real stderr
    assert "opsdesk.simulator: a batch of 3 deliveries was refused" in screen.getvalue()


def test_an_access_line_from_uvicorn_has_its_fields_and_leaves_the_query_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure({}, terminal=False)

    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5501", "GET", "/api/v1/orders?email=jo@example.com", "1.1", 200
    )

    [line] = lines(capsys.readouterr().err)
    del line["time"]
    assert line == {
        "level": "INFO", "logger": "uvicorn.access", "message": '127.0.0.1:5501 - "GET /api/v1/orders HTTP/1.1" 200',
        "client": "127.0.0.1:5501", "method": "GET", "path": "/api/v1/orders", "status": 200,
    }


def test_uvicorn_configured_before_by_its_own_logging_config_goes_through_our_handler_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A process that ran a server with uvicorn's own logging config (a test's in-process server, say) left its
    loggers with handlers of their own and not propagating: configuring takes them back."""
    uvicorn.Config(app=_app).configure_logging()
    logs.configure({}, terminal=False)
    logging.getLogger("uvicorn.error").info("started")
    logging.getLogger("uvicorn.access").info("GET / 200")
    assert [f"{line['logger']} {line['message']}" for line in lines(capsys.readouterr().err)] == [
        "uvicorn.error started", "uvicorn.access GET / 200"
    ]


async def _app(scope: object, receive: object, send: object) -> None:
    return None
