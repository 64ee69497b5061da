"""SQLite's writers of one process take turns in the order they asked (ADR 0006): a thread that gives the turn back
and asks again at once waits behind the threads already waiting, so none of them waits past its timeout while
others keep the turn. ``threading.Lock`` promises no order: the releasing thread, which holds the interpreter,
takes it again before a woken waiter runs."""

from __future__ import annotations

import threading
import time

import pytest

from opsdesk.storage.turns import WriteTurns


def _queued(turns: WriteTurns, waiting: int) -> None:
    deadline = time.monotonic() + 5
    while turns.waiting() < waiting:
        assert time.monotonic() < deadline, "the waiter never queued"
        time.sleep(0.001)


def test_a_thread_asking_again_at_once_waits_behind_the_one_already_waiting() -> None:
    turns, order = WriteTurns(), []
    assert turns.acquire(timeout=1)

    def waiter() -> None:
        assert turns.acquire(timeout=5)
        order.append("waiter")
        turns.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    _queued(turns, 1)
    turns.release()
    assert turns.acquire(timeout=5)  # asked again at once, still holding the interpreter
    order.append("again")
    turns.release()
    thread.join(5)
    assert order == ["waiter", "again"]


def test_turns_go_in_the_order_asked_and_a_waiter_that_gives_up_leaves_the_queue() -> None:
    turns, order = WriteTurns(), []
    assert turns.acquire(timeout=1)
    assert not turns.acquire(timeout=0.01)  # gave up: not left in the queue to be handed the turn
    assert turns.waiting() == 0

    def waiter(name: str) -> None:
        assert turns.acquire(timeout=5)
        order.append(name)
        turns.release()

    threads = []
    for n in range(5):
        threads.append(threading.Thread(target=waiter, args=(f"w{n}",)))
        threads[-1].start()
        _queued(turns, n + 1)
    turns.release()
    for thread in threads:
        thread.join(5)
    assert order == [f"w{n}" for n in range(5)]
    assert turns.acquire(timeout=0) and turns.waiting() == 0  # free again
    turns.release()


def test_a_release_without_the_turn_is_refused() -> None:
    with pytest.raises(RuntimeError):
        WriteTurns().release()


def test_eight_threads_looping_on_the_turn_all_finish_within_a_short_wait() -> None:
    """Each of 8 threads takes the turn 300 times, giving it back and asking again at once; with turns in order no
    thread waits for more than the 7 others' turns, so a 2 s timeout is never reached."""
    turns, failures = WriteTurns(), []

    def worker() -> None:
        for _ in range(300):
            if not turns.acquire(timeout=2):
                failures.append("timed out")
                return
            sum(range(2_000))  # a short turn, holding the interpreter
            turns.release()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
