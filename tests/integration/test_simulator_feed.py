"""The store generated in a child process: what the runner sees of it is what it sees of a ``Store``."""

from __future__ import annotations

import fcntl
import io
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from opsdesk.simulator.feed import (
    _LENGTH,
    AHEAD_FRAMES,
    MAX_FRAME_BYTES,
    PIPE_BYTES,
    GeneratorFailed,
    StoreProcess,
)
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.store import Delivery, Store
from opsdesk.simulator.truth import Truth
from tests.unit.test_simulator import SECRET, small


def scenario(**changes: Any) -> Scenario:
    """A day that ends at a busy hour, not followed: some deliveries (retries, slow ones) reach opsdesk
    after the horizon, so the stream goes on past where the runner stops reading."""
    base = {"duration": timedelta(hours=14), "follow": timedelta(0), "orders_per_day": 200}
    return replace(small(), **{**base, "duplicate_share": 0.2, **changes})


def as_runner_reads(deliveries: Iterator[Delivery], truth: Any, horizon: datetime) -> list[tuple[Any, ...]]:
    """What the runner's look-ahead sees: each delivery as it reaches the head of the stream, with the
    incidents' params at that moment, up to the first past the horizon (the head it stops at)."""
    seen = []
    for d in deliveries:
        seen.append((d.at, d.topic, d.headers, d.body, [dict(i.params) for i in truth().incidents]))
        if d.at > horizon:
            break
    return seen


def test_the_child_gives_the_runner_what_an_in_process_store_gives_it() -> None:
    plan = scenario()
    inline = Store(plan, SECRET)
    expected = as_runner_reads(iter(inline), lambda: inline.truth, plan.horizon)
    with StoreProcess(plan, SECRET, frame=7) as child:
        got = as_runner_reads(iter(child), lambda: child.truth, plan.horizon)
        assert got == expected
        assert got[-1][0] > plan.horizon  # the stream was cut where the runner stops reading
        # the discount's id, drawn when its incident starts, reaches the parent with the same delivery
        assert any("discount_gid" in p[0] for *_, p in got) and "discount_gid" not in got[0][4][0]
        assert child.truth.as_dict() == inline.truth.as_dict()
        assert isinstance(child.truth, Truth) and child.truth.orders > 0


def test_the_stream_ends_cleanly_after_the_first_delivery_past_the_horizon() -> None:
    plan = scenario()
    with StoreProcess(plan, SECRET) as child:
        deliveries = list(child)
    assert deliveries[-1].at > plan.horizon and all(d.at <= plan.horizon for d in deliveries[:-1])


def test_a_stream_that_ends_before_the_horizon_gives_the_whole_truth_at_its_end() -> None:
    plan = scenario(follow=timedelta(days=30), orders_per_day=60)
    inline = Store(plan, SECRET)
    expected = [(d.at, d.body) for d in inline]
    with StoreProcess(plan, SECRET) as child:
        assert [(d.at, d.body) for d in child] == expected
        assert expected[-1][0] <= plan.horizon  # the stream ran out before the horizon
        assert child.truth.as_dict() == inline.truth.as_dict()


def test_a_failure_in_the_child_is_raised_in_the_parent_with_its_traceback() -> None:
    with StoreProcess(scenario(), None) as child, pytest.raises(GeneratorFailed, match="Traceback"):  # type: ignore[arg-type]
        list(child)


@pytest.mark.parametrize("frame", [1, 100_000], ids=["between-frames", "inside-a-frame"])
def test_a_child_that_dies_is_an_error_not_a_hang(frame: int) -> None:
    """Killed between two frames, or half way through writing one (the parent reads a cut pickle)."""
    with StoreProcess(scenario(follow=timedelta(days=30)), SECRET, frame=frame) as child:
        assert child._proc is not None and child._proc.stdout is not None
        if frame == 1:
            next(iter(child))
        else:  # the child has begun writing its one big frame: the reader has its length, not all of it
            assert child._inside_frame.wait(timeout=60)
        child._proc.kill()
        with pytest.raises(GeneratorFailed, match=r"ended early \(exit code -9\)"):
            list(child)


def test_a_length_no_frame_has_ends_the_stream_instead_of_being_read() -> None:
    """A stream that is not frames (a length of 4 EB, say) is the child's end: no read of that size."""
    child = StoreProcess(scenario(), SECRET)
    child._read(io.BytesIO(_LENGTH.pack(MAX_FRAME_BYTES + 1) + b"not a frame"))
    assert child._frames.get_nowait() is None


def test_leaving_early_ends_a_child_blocked_on_its_pipe() -> None:
    started = time.monotonic()
    with StoreProcess(scenario(follow=timedelta(days=30)), SECRET, frame=1) as child:
        next(iter(child))
        proc = child._proc
    assert proc is not None and proc.returncode is not None
    assert time.monotonic() - started < 30


def test_the_pipe_has_room_for_a_few_frames_where_the_system_allows_it() -> None:
    allowed = min(PIPE_BYTES, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
    with StoreProcess(scenario(), SECRET) as child:
        assert child._proc is not None and child._proc.stdout is not None
        assert fcntl.fcntl(child._proc.stdout.fileno(), fcntl.F_GETPIPE_SZ) == allowed > 64 * 1024


def test_the_child_runs_ahead_of_the_desk_by_more_than_the_pipe_holds() -> None:
    """The reader thread takes frames off the pipe while the desk works: the child does not wait for it."""
    allowed = min(PIPE_BYTES, int(Path("/proc/sys/fs/pipe-max-size").read_text()))
    plan = scenario(orders_per_day=4000, duration=timedelta(days=1))
    with StoreProcess(plan, SECRET) as child:
        deadline = time.monotonic() + 60
        while child._frames.qsize() < AHEAD_FRAMES and time.monotonic() < deadline:
            time.sleep(0.05)  # nothing taken: the desk is busy elsewhere
        assert child._frames.qsize() == AHEAD_FRAMES
        queued = sum(len(frame or b"") for frame in list(child._frames.queue))
        assert queued > allowed
        # and what was read ahead comes out whole and in order
        inline = Store(plan, SECRET)
        assert [(d.at, d.body) for d in islice(child, 5000)] == [(d.at, d.body) for d in islice(inline, 5000)]


def test_a_child_stopped_and_continued_while_it_writes_sends_whole_frames() -> None:
    """Ctrl-Z and ``fg`` (SIGTSTP, SIGCONT) reach the child too, and a profiler stops it the same way: a write
    cut short by the stop must go on where it stopped. Python's buffered writer lost bytes of a frame then
    (the parent read a pickle cut in the wrong place); the child now writes its frames itself."""
    plan = scenario(orders_per_day=3000, duration=timedelta(days=1))
    inline = Store(plan, SECRET)
    expected = [(d.at, d.body) for d in islice(inline, 20_000)]
    with StoreProcess(plan, SECRET, frame=16) as child:
        proc = child._proc
        assert proc is not None
        stop = threading.Event()

        def stop_and_continue() -> None:
            while not stop.is_set() and proc.poll() is None:
                proc.send_signal(signal.SIGSTOP)
                time.sleep(0.002)
                proc.send_signal(signal.SIGCONT)
                time.sleep(0.005)

        poker = threading.Thread(target=stop_and_continue, daemon=True)
        poker.start()
        try:
            got = []
            for d in islice(child, 20_000):  # slower than the child: it waits on a full pipe, mid-write
                got.append((d.at, d.body))
                if len(got) % 10 == 0:
                    time.sleep(0.001)
        finally:
            stop.set()
            poker.join()
            proc.send_signal(signal.SIGCONT)
    assert len(got) == len(expected) == 20_000
    assert got == expected
