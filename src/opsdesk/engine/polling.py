"""The loop every background worker runs: work, pause when idle, wait out outages, never die."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opsdesk.domain.errors import Unavailable

log = logging.getLogger("opsdesk.engine")


def keep_polling(
    step: Callable[[], bool],
    stop: threading.Event,
    poll: float,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Call ``step`` until ``stop`` is set; it returns True when more work is already waiting.

    An unavailable database is waited out; any other error is logged and retried after a pause,
    because a background thread that dies takes its work (sending, firing timers) with it silently.
    """
    while not stop.is_set():
        try:
            busy = step()
        except Unavailable as exc:
            if on_error:
                on_error(exc)
            stop.wait(max(poll, 1.0))
            continue
        except Exception:
            log.exception("background step failed; retrying in 5 s")
            stop.wait(5.0)
            continue
        if not busy:
            stop.wait(poll)
