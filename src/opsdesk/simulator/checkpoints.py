"""SQLite's WAL checkpoint on a thread of its own while a simulated run goes on."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from opsdesk.desk import Desk


@contextlib.contextmanager
def checkpointer(desk: Desk, every: float = 1.0) -> Iterator[None]:
    """Copy SQLite's WAL into the database file on a thread of its own while the run goes on, as
    `opsdesk serve` does: the checkpoint's copying and syncing happen in SQLite, outside the interpreter
    lock, on the second core, instead of inside whichever commit passes the WAL's auto-checkpoint size."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # the next round tries again; the run's own commits go on
                desk.db.checkpoint()

    thread = threading.Thread(target=run, name="opsdesk-simulator-checkpoint", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
