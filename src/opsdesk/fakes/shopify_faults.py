"""The faults the fake Admin API injects, one per request (see ``opsdesk.fakes.shopify_admin``)."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

from opsdesk.fakes.shopify_bucket import THROTTLED

__all__ = ["DEFAULT_FAULTS", "FAULT", "Answer", "Faults", "check_faults", "fault_reply"]

DEFAULT_FAULTS = ("500", "429:2", "hang:1", "reset")
FAULT = re.compile(r"^(?:\d{3}(?::\d+)?|429-date:\d+|(?:hang|slow):\d+(?:\.\d+)?|reset|throttled|403-scope)$")
#: Shopify's 403 for a call that needs an access scope the app was not granted: that call's refusal, not the token's.
SCOPE_REFUSED = {"errors": "[API] This action requires merchant approval for write_orders scope."}
#: An answer: status, JSON body, extra headers.
Answer = tuple[int, object, dict[str, str]]


@dataclass
class Faults:
    seed: int
    queue: deque[str] = field(default_factory=deque)
    rate: float = 0.0
    choices: Sequence[str] = DEFAULT_FAULTS
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self) -> str:
        with self.lock:
            if self.down:
                return "outage"
            if self.queue:
                return self.queue.popleft()
            if self.rate and self.rng.random() < self.rate:
                return self.rng.choice(self.choices)
            return ""


def check_faults(faults: Iterable[str]) -> None:
    """Refuse a misspelt fault now, not as an error inside the server thread later."""
    wrong = [f for f in faults if not FAULT.match(f)]
    if wrong:
        raise ValueError(f"unknown faults {wrong}; see the module docstring for the ones there are")


def fault_reply(name: str, arg: str) -> Answer:
    if name == "outage":
        return 503, {"errors": "Service Unavailable"}, {}
    if name == "throttled":
        return 200, THROTTLED, {}
    if name == "403-scope":
        return 403, SCOPE_REFUSED, {}
    if name == "429-date":
        when = formatdate(time.time() + float(arg), usegmt=True)
        return 429, {"errors": "Too Many Requests"}, {"Retry-After": when}
    return int(name), {"errors": f"HTTP {name}"}, {"Retry-After": arg} if arg else {}
