"""Shopify's query cost limit and leaky bucket, as the fake Admin API enforces them.

Shopify prices a query before running it (``opsdesk.fakes.query_cost``): one whose requested cost is over
1,000 points is refused with ``MAX_COST_EXCEEDED``; otherwise the requested cost must be in the app's bucket
for the shop, which refills at ``restoreRate`` points a second up to ``maximumAvailable``, or the query is
refused with ``THROTTLED``; after it ran, what it did not use (requested less actual cost) goes back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsdesk.fakes.query_cost import MAX_COST

__all__ = ["RATE_LIMITS", "STANDARD_BUCKET", "THROTTLED", "Bucket", "too_costly"]

JSON = dict[str, Any]
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {
    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": None, "throttleStatus": {
        "maximumAvailable": 2000.0, "currentlyAvailable": 0, "restoreRate": 100.0}}}}
#: Shopify's standard plan: 100 points a second, a bucket of 2,000 (Plus: 1,000 a second, 10,000).
STANDARD_BUCKET = (2000.0, 100.0)
RATE_LIMITS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class Bucket:
    """Shopify's leaky bucket of query cost points for one app on one shop."""

    maximum: float
    restore_rate: float
    enforced: bool
    available: float = -1.0
    at: float = 0.0
    #: Seconds on the fake's clock: the bucket refills as that clock moves (a test's clock moves when told to).
    clock: Callable[[], float] = time.monotonic
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, requested: int) -> tuple[bool, float]:
        """Whether the query may run now (if so its requested cost is taken from the bucket), and the points the
        bucket held when it came, after refilling at the restore rate for the seconds since the last query."""
        with self.lock:
            now = self.clock()
            left = self.maximum if self.available < 0 else self.available
            self.available = found = min(self.maximum, left + (now - self.at) * self.restore_rate)
            self.at = now
            if self.enforced and requested > self.available:
                return False, found
            if self.enforced:
                self.available -= requested
            return True, found

    def settle(self, requested: int, actual: int | None) -> JSON:
        """Give back what the query did not use; the answer's ``extensions.cost``."""
        with self.lock:
            if self.enforced and actual is not None:
                self.available = min(self.maximum, self.available + requested - actual)
            left = self.available if self.enforced else self.maximum - (actual or 0)
            return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": {
                "maximumAvailable": self.maximum, "currentlyAvailable": round(max(left, 0.0), 1),
                "restoreRate": self.restore_rate}}}


def too_costly(cost: int) -> JSON:
    """Shopify's answer to a query whose requested cost is over the single-query limit."""
    return {"errors": [{
        "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_COST}).\n\n"
                   "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
                   "cost of a query is calculated.\n\n"
                   "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
                   "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_COST,
                       "documentation": RATE_LIMITS}}]}
