"""The store's deliveries generated in a second process, ahead of the desk, on the machine's other core.

What a ``Store`` yields depends only on the scenario and the secret, never on what the desk does, so a
child process can generate it (orders, lifecycles, rendering, HMAC signing) while the parent ingests and
drains. The child sends the deliveries in frames of pickled tuples, and blocks once the pipe is full:
it runs at most a frame or two ahead. The parent sees what an in-process ``Store`` would show the runner
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
import signal
import subprocess
import sys
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
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the child: it may be blocked writing a frame that nobody will read."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

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
        if proc is None or proc.stdout is None:
            raise GeneratorFailed("the store's generator is not running (use StoreProcess as a context)")
        try:
            frame: tuple[Any, ...] = pickle.load(proc.stdout)  # noqa: S301 (our child, our pipe)
        except (EOFError, pickle.UnpicklingError):  # killed before or in the middle of a frame
            self.close()  # (or alive but writing what is not a frame: ended here, not waited for)
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
        out.write(pickle.dumps(frame, pickle.HIGHEST_PROTOCOL))
        out.flush()

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
        pickle.dump(("error", traceback.format_exc()), out)
        out.flush()
        raise SystemExit(1) from None


if __name__ == "__main__":
    _child()
