"""Write turns on SQLite, in the order the threads of a process asked for them (ADR 0006).

SQLite has one writer at a time. ``threading.Lock`` would serialise the writers but promises no order: a thread that
gives the lock back and asks again at once (a worker loop, a burst of API calls) holds the interpreter and takes it
again before a woken waiter runs, so under load a waiting writer can be passed over until its timeout (seen as
``database busy: no write turn within 4 s`` with eight threads claiming cases on a busy machine). Here each waiter
queues on a lock of its own and the turn is handed to the first in the queue.
"""

from __future__ import annotations

import threading
from collections import deque


class WriteTurns:
    """A lock whose waiters get it first come, first served; ``acquire`` gives up after ``timeout`` seconds."""

    __slots__ = ("_guard", "_held", "_queue")

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._queue: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held and not self._queue:
                self._held = True
                return True
            mine = threading.Lock()
            mine.acquire()
            self._queue.append(mine)
        if mine.acquire(timeout=max(timeout, 0)):
            return True  # handed over by ``release``: the turn is ours
        with self._guard:
            if mine in self._queue:  # still waiting: leave the queue
                self._queue.remove(mine)
                return False
        return True  # handed over between the timeout and the guard

    def release(self) -> None:
        with self._guard:
            if not self._held:
                raise RuntimeError("release of a write turn nobody holds")
            if self._queue:
                self._queue.popleft().release()  # the turn passes on; still held
            else:
                self._held = False

    def waiting(self) -> int:
        """How many threads wait for the turn."""
        with self._guard:
            return len(self._queue)
