"""The store's deliveries generated in a second process, ahead of the desk, on the machine's other core.

What a ``Store`` yields depends only on the scenario and the secret, never on what the desk does, so a
child process can generate it (orders, lifecycles, rendering, HMAC signing) while the parent ingests and
drains; with an ``Ahead``, it also does the desk's intake CPU work on each delivery (ADR 0023). The child
sends the deliveries in length-prefixed frames of pickled tuples; a reader thread in the parent takes
them off the pipe as they come, up to ``AHEAD_FRAMES`` ahead, so the child runs a busy tick or two ahead
of the desk and blocks only when that many wait. The parent sees what an in-process ``Store`` would show the runner
at every point, so a run gives the same scorecard:

- the same deliveries, in the same order;
- each incident's ``params`` as they stood when the delivery at the head of the stream was generated
  (a misconfigured discount's id is drawn when its incident starts in the store, and the runner's fault
  switch reads it then);
- the whole truth (orders, affected orders, digest) from the moment the last delivery the run reads is
  at the head: the child stops at the first delivery past the horizon, where the runner's look-ahead
  stops in process too.

The parent never reads past that delivery, so this is for ``InProcess``; ``over_http`` sends every one.
"""

from __future__ import annotations

import fcntl
import gc
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import opsdesk
from opsdesk.domain.errors import OpsdeskError
from opsdesk.services.ahead import Ahead, Checked
from opsdesk.simulator import frames
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.store import Delivery, Store, ground_truth
from opsdesk.simulator.truth import Truth

#: Deliveries per frame (~3 KB each): big enough that pickling and the pipe cost little per delivery,
#: small enough that the desk gets its first ones at once and several fit in the pipe.
FRAME = 128
#: The pipe's buffer, if the system allows it (Linux's default is 64 KB, and /proc/sys/fs/pipe-max-size
#: caps it for other than root): with room for a few frames, the child writes a frame in one go and runs
#: ahead, instead of handing the parent 64 KB at a time with a switch between the processes for each.
PIPE_BYTES = 4 << 20
#: Frames the parent's reader thread holds, read from the pipe but not yet taken (~12,000 deliveries, ~45
#: MB): more than the busiest tick of a 100,000-order day (~5,000), so the child generates the next tick's
#: deliveries while the desk works through this one, instead of waiting for the pipe to empty.
AHEAD_FRAMES = 96
#: No frame is near this (~0.5 MB for 128 deliveries): a length past it means the stream is not frames.
MAX_FRAME_BYTES = 1 << 30
#: A frame on the pipe: its length (8 bytes, little-endian), then the pickled frame.
_LENGTH = struct.Struct("<Q")
#: a delivery in a frame: at, topic, headers, body, the incidents' params if they changed with it, and the
#: desk's verdict worked out ahead (when the parent asked for it)
_Item = tuple[datetime, str, dict[str, str], bytes, list[dict[str, Any]] | None, Checked | None]


class GeneratorFailed(OpsdeskError):
    """The process generating the store's deliveries failed or ended early."""


class StoreProcess:
    """A ``Store`` in a child process: the runner reads ``s``, ``truth`` and the deliveries as from one.

    Use it as a context manager: leaving it (a finished run, an error, Ctrl-C) ends the child.
    """

    def __init__(
        self, scenario: Scenario, secret: str, *, frame: int = FRAME, ahead: Ahead | None = None
    ) -> None:
        self.s = scenario
        #: the incidents' windows and params at once; everything else once generation is over
        self.truth = ground_truth(scenario)
        self._args = (scenario, secret, frame, ahead)
        self._proc: subprocess.Popen[bytes] | None = None
        #: frames read ahead by the reader thread; None once the pipe ended (the child's end, or its death)
        self._frames: queue.Queue[bytes | None] = queue.Queue(AHEAD_FRAMES)
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        #: set while the reader has a frame's length and waits for the rest of it (a test kills the child then)
        self._inside_frame = threading.Event()

    def __enter__(self) -> StoreProcess:
        src = str(Path(opsdesk.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "opsdesk.simulator.feed"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        _widen(self._proc.stdout.fileno())
        try:
            with self._proc.stdin as arguments:  # the secret goes through the pipe, not the command line
                pickle.dump(self._args, arguments)
        except OSError as exc:  # it ended before reading them
            self.close()
            raise GeneratorFailed(f"the store's generator process did not start: {exc}") from exc
        self._reader = threading.Thread(
            target=self._read, args=(self._proc.stdout,), name="opsdesk-store-feed", daemon=True
        )
        self._reader.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the child (it may be blocked writing a frame that nobody will read) and the reader."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._stopping.set()
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)  # the pipe has ended: the reader sees its end, or the stop
        if proc.stdout is not None:
            proc.stdout.close()

    def _read(self, pipe: IO[bytes]) -> None:
        """The reader thread: frames off the pipe into the queue, up to ``AHEAD_FRAMES`` ahead; None last.

        Reading a pipe releases the interpreter lock, so the child runs ahead while the desk works; the
        frames are unpickled where they are taken, in the runner's thread, in order.
        """
        try:
            while not self._stopping.is_set():
                head = pipe.read(_LENGTH.size)
                if len(head) < _LENGTH.size:
                    break
                self._inside_frame.set()
                size = _LENGTH.unpack(head)[0]
                if size > MAX_FRAME_BYTES:  # not a frame's length: treated as the child's end, not read
                    break
                body = pipe.read(size)
                self._inside_frame.clear()
                if len(body) < size or not self._put(body):
                    break
        except (OSError, ValueError):  # closed under it: the run has ended
            pass
        self._put(None)

    def _put(self, item: bytes | None) -> bool:
        """Queue an item, waiting for room; False if the run stopped meanwhile."""
        while not self._stopping.is_set():
            try:
                self._frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Delivery]:
        horizon = self.s.horizon
        while True:
            frame = self._receive()
            if frame[0] == "end":
                self._finish(frame)
                return
            for at, topic, headers, body, params, checked in frame[1]:
                if params is not None:
                    for truth, now in zip(self.truth.incidents, params, strict=True):
                        truth.params.clear()
                        truth.params.update(now)
                if at > horizon:  # the child's last: the truth as it stood when it was generated
                    self._finish(self._receive())
                    yield Delivery(at, topic, headers, body, checked)
                    return
                yield Delivery(at, topic, headers, body, checked)

    def _finish(self, frame: tuple[Any, ...]) -> None:
        if frame[0] != "end":
            raise GeneratorFailed(f"the store's generator sent {frame[0]!r} where its end was due")
        self.truth = Truth(**frame[1])

    def _receive(self) -> tuple[Any, ...]:
        proc = self._proc
        if proc is None or self._reader is None:
            raise GeneratorFailed("the store's generator is not running (use StoreProcess as a context)")
        data = self._frames.get()
        try:
            if data is None:  # the pipe ended: the child died before or in the middle of a frame
                raise EOFError
            frame: tuple[Any, ...] = pickle.loads(data)  # noqa: S301 (our child, our pipe)
        except (EOFError, pickle.UnpicklingError):  # (or alive but writing what is not a frame)
            self.close()  # ended here, not waited for
            raise GeneratorFailed(
                f"the store's generator process ended early (exit code {proc.returncode})"
            ) from None
        if frame[0] == "error":
            raise GeneratorFailed(f"the store's generator failed:\n{frame[1]}")
        return frame


def _widen(pipe: int) -> None:
    """Give the pipe room for a few frames, as much as the system allows; as it was if it allows none."""
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, min(PIPE_BYTES, limit))
    except (OSError, ValueError, AttributeError):  # not Linux, or not allowed: the default buffer works
        pass


def _portable(truth: Truth) -> dict[str, Any]:
    """The truth's fields for pickling: its running digest becomes the finished hex digest."""
    data = {f.name: getattr(truth, f.name) for f in fields(truth) if f.name != "_digest"}
    data["saved_digest"] = truth.digest
    return data


def generate(scenario: Scenario, secret: str, frame: int, out: IO[bytes], ahead: Ahead | None = None) -> None:
    """Write the store's deliveries to ``out`` in frames, up to the first past the horizon, then its truth;
    with ``ahead``, each with the desk's verdict on it."""
    store, started, horizon = Store(scenario, secret), 0, scenario.horizon
    items: list[_Item] = []

    def send(frame: tuple[Any, ...]) -> None:
        _send(out, frame)

    for d in store:
        params = None
        if store.incidents_started != started:  # an incident began: its params may have grown
            started = store.incidents_started
            params = [dict(t.params) for t in store.truth.incidents]
        checked = None if ahead is None else ahead.check(d.headers, d.body)
        items.append((d.at, d.topic, d.headers, d.body, params, checked))
        if d.at > horizon:
            break
        if len(items) >= frame:
            send(("deliveries", items))
            items = []
    if items:
        send(("deliveries", items))
    send(("end", _portable(store.truth)))


def _child() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and ends this process on its way out.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # As ``opsdesk``'s entry point tunes it: generation allocates many short-lived dicts (payloads).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frames
    scenario, secret, frame, ahead = pickle.load(sys.stdin.buffer)  # noqa: S301 (our parent, our pipe)
    try:
        generate(scenario, secret, frame, out, ahead)
    except BrokenPipeError:
        return  # the parent stopped reading: it has ended the run
    except Exception:
        _send(out, ("error", traceback.format_exc()))
        raise SystemExit(1) from None


def _send(out: IO[bytes], frame: tuple[Any, ...]) -> None:
    """Write a frame straight to the pipe, going on after every short write.

    A stop (Ctrl-Z, a profiler attaching) while the child waits on a full pipe cuts a write short. Python
    3.11's buffered writer then garbled a ~50-400 KB frame (the parent read a pickle cut in the wrong
    place) in a loop of stops (tests/integration/test_simulator_feed.py); ``os.write`` says how much went.
    """
    data = frames.dumps(frame)
    fd = out.fileno()
    for part in (_LENGTH.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


if __name__ == "__main__":
    _child()
