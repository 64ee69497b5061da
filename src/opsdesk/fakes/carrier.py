"""A local carrier label API (EasyPost-like) for tests, the simulator and the demo, with faults to inject.

One server stands in for any number of carriers: ``POST /<carrier>/shipments`` buys a label (a return
label when ``shipment.is_return``) and ``POST /<carrier>/addresses`` checks an address. A request
repeated with the same ``Idempotency-Key`` gets the first answer again and buys nothing more.

Fault knobs (per carrier):
- ``script(carrier, *faults)``: the next requests fail in turn: ``"500"``/``"503"``/any status,
  ``"429:<seconds>"`` (with ``Retry-After``), ``"transient"`` (503 ``CARRIER_NOT_AVAILABLE``),
  ``"permanent"`` (422 ``PERMANENT_ERROR``), ``"code:<CODE>"`` (422 with that error code),
  ``"hang:<seconds>"`` (no answer, then the connection closes; nothing is bought).
- ``outage(carrier, True)``: every request answers 503 ``CARRIER_NOT_AVAILABLE`` until turned off.
- ``reject_zip(*zips)``: an address with one of these postal codes is refused with 422
  ``ADDRESS.VERIFY.FAILURE`` (as the sender of a return label or when checked).
- ``chaos(rate, faults, seed)``: each request fails with probability ``rate``, drawing from ``faults``.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from opsdesk.fakes.wire import NoAnswer, Reply, StandInTransport, headers_of, write_reply

__all__ = ["CarrierCall", "FakeCarrier"]

PATH = re.compile(r"^/(?P<carrier>[\w-]+)/(?P<what>shipments|addresses)$")
FAULT = re.compile(r"^(?:\d{3}|429:\d+(?:\.\d+)?|transient|permanent|code:[A-Z0-9_.]+|hang:\d+(?:\.\d+)?)$")
#: Where the carriers are before ``start()``: the origin ``transport()`` answers (``.invalid`` never resolves).
IN_MEMORY = "http://carrier.stand-in.invalid"


@dataclass(frozen=True, slots=True)
class CarrierCall:
    """One request as the fake saw it."""

    carrier: str
    what: str  # shipments | addresses
    key: str  # the Idempotency-Key header
    fault: str  # the fault injected, "" for none
    status: int  # 0 when no answer was sent
    body: dict[str, Any]


class FakeCarrier:
    """A real HTTP server on 127.0.0.1 once started; ``url_for(carrier)`` is a carrier's ``base_url``.

    Not started, it answers in memory only, through ``transport()`` (see ``opsdesk.fakes.wire``).
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[str]] = defaultdict(deque)
        self._down: set[str] = set()
        self._bad_zips: set[str] = set()
        self._chaos: tuple[float, Sequence[str]] = (0.0, ())
        self._rng = random.Random(seed)
        self._answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.calls: list[CarrierCall] = []
        self.labels: list[dict[str, Any]] = []  # every label bought, once per idempotency key
        self._server: _Server | None = None
        self._stopping = threading.Event()  # set by stop(): ends hanging requests

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        self._stopping.clear()
        self._server = _Server(self)
        # shutdown() waits for the serving loop's next poll: at the default 0.5 s, every stop cost a test 0.25 s
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-carrier",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def url_for(self, carrier: str) -> str:
        """The carrier's base URL: on the server once started, else where ``transport()`` answers."""
        if self._server is None:
            return f"{IN_MEMORY}/{carrier}"
        return f"http://127.0.0.1:{self._server.server_address[1]}/{carrier}"

    def transport(self) -> StandInTransport:
        """An httpx transport that hands requests for ``url_for(...)`` (not started) to ``handle``."""
        return StandInTransport(self.handle, IN_MEMORY, self._stopping)

    # -- knobs ---------------------------------------------------------------------------------------

    def script(self, carrier: str, *faults: str) -> None:
        wrong = [f for f in faults if not FAULT.match(f)]
        if wrong:
            raise ValueError(f"unknown faults {wrong}; see the module docstring")
        with self._lock:
            self._queues[carrier].extend(faults)

    def outage(self, carrier: str, on: bool) -> None:
        with self._lock:
            (self._down.add if on else self._down.discard)(carrier)

    def reject_zip(self, *zips: str) -> None:
        with self._lock:
            self._bad_zips.update(zips)

    def chaos(self, rate: float, faults: Sequence[str] = ("503", "transient"), seed: int | None = None) -> None:
        with self._lock:
            self._chaos = (rate, tuple(faults))
            if seed is not None:
                self._rng = random.Random(seed)

    def labels_for(self, carrier: str) -> list[dict[str, Any]]:
        with self._lock:
            return [label for label in self.labels if label["carrier"] == carrier]

    # -- serving -------------------------------------------------------------------------------------

    def handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> Reply | NoAnswer:
        """Answer one request (headers by lower-case name), faults included, and record it."""
        key = headers.get("idempotency-key", "")
        match = PATH.match(path)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if match is None or not isinstance(body, dict):
            return _reply(404 if match is None else 400, _error("BAD_REQUEST", "bad request"), {})
        carrier, what = match.group("carrier"), match.group("what")
        fault = self._fault(carrier)
        if fault.startswith("hang:"):
            self._record(CarrierCall(carrier, what, key, fault, 0, body))
            return NoAnswer(float(fault.partition(":")[2]))
        if fault:
            status, answer, extra = _fault_reply(fault)
        else:
            (status, answer), extra = self._answer(carrier, what, key, body), {}
        self._record(CarrierCall(carrier, what, key, fault, status, body))
        return _reply(status, answer, extra)

    def _record(self, call: CarrierCall) -> None:
        with self._lock:
            self.calls.append(call)

    def _fault(self, carrier: str) -> str:
        with self._lock:
            if carrier in self._down:
                return "transient"
            if self._queues[carrier]:
                return self._queues[carrier].popleft()
            rate, faults = self._chaos
            if rate and self._rng.random() < rate:
                return self._rng.choice(list(faults))
            return ""

    def _answer(self, carrier: str, what: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if key and (carrier, key) in self._answers:
                return self._answers[(carrier, key)]
            answer = self._apply(carrier, what, key, body)
            if key and answer[0] < 500:
                self._answers[(carrier, key)] = answer
            return answer

    def _apply(self, carrier: str, what: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        shipment = body.get("shipment") or {}
        address = body.get("address") if what == "addresses" else shipment.get("from_address")
        if isinstance(address, dict) and str(address.get("zip", "")) in self._bad_zips:
            return 422, _error("ADDRESS.VERIFY.FAILURE", "Address not found",
                               [{"field": "street1", "message": "Address not found", "suggestion": None}])
        if what == "addresses":
            return 200, {"id": f"adr_{len(self._answers) + 1}", "object": "Address", **(address or {}),
                         "verifications": {"delivery": {"success": True, "errors": []}}}
        number = len(self.labels) + 1
        label = {"id": f"shp_{carrier}_{number}", "carrier": carrier, "key": key,
                 "is_return": bool(shipment.get("is_return")), "reference": shipment.get("reference"),
                 "tracking_code": f"{carrier.upper()}{number:010d}",
                 "postage_label": {"label_url": f"https://labels.invalid/{carrier}/{number}.pdf"}}
        self.labels.append(label)
        return 201, label


def _reply(status: int, body: object, headers: dict[str, str]) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})


def _error(code: str, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "errors": errors or []}}


def _fault_reply(fault: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    name, _, arg = fault.partition(":")
    if name == "transient":
        return 503, _error("CARRIER_NOT_AVAILABLE", "The carrier is not available"), {}
    if name == "permanent":
        return 422, _error("PERMANENT_ERROR", "The label cannot be purchased"), {}
    if name == "code":
        return 422, _error(arg, f"error {arg}"), {}
    if name == "429":
        return 429, _error("RATE_LIMITED", "Too many requests"), {"Retry-After": arg}
    return int(name), _error(f"HTTP_{name}", f"HTTP {name}"), {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The answer is buffered and goes out in one write (``write_reply`` flushes it): one wake-up of the
    # client's thread per answer instead of one for the headers and one for the body, in a process whose
    # threads share one interpreter lock.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.server.fake.handle(self.path, headers_of(self), raw)
        if isinstance(answer, NoAnswer):
            self.server.fake._stopping.wait(answer.seconds)
            self.close_connection = True
            return
        write_reply(self, answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeCarrier) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
