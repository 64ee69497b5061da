"""Shopify's cost bucket for each shop, as the connector's last answer from it left it, and the wait it asks.

Shopify runs an Admin GraphQL query only when the app's bucket for the shop holds the query's requested cost;
the bucket refills at ``restoreRate`` points a second up to ``maximumAvailable``, and after the query ran what
it did not use (requested less actual cost) goes back. Every answer says how the bucket stands
(``extensions.cost.throttleStatus``) and what the query asked (``requestedQueryCost``), so a client can wait
*before* sending until the bucket holds what the query will ask, instead of being refused with ``THROTTLED``
and waiting after (shopify.dev, "GraphQL Admin API rate limits").

The reads (the reconciliation sweep's) wait here until the bucket holds their cost plus a reserve: the desk's
own actions (refunds, holds, notes: at most about 170 points each) go through the same bucket, and a sweep that
drained it would make them wait or fail. The actions themselves never wait here: a refund should not queue
behind a sweep. A read's cost is the ``requestedQueryCost`` Shopify last gave for the same query and page size;
before Shopify has priced it once, the most any query may ask (1,000 points).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["DEFAULT_RESERVE", "MAX_QUERY_COST", "Bucket", "CostBuckets", "throttle_wait"]

JSON = dict[str, Any]
#: Shopify refuses a query whose requested cost is over this (``MAX_COST_EXCEEDED``): no query it runs asks more.
MAX_QUERY_COST = 1000.0
#: Points a read leaves in the bucket: a hold (fulfilment orders 153, then 13 per hold) or a refund (53 + 14).
DEFAULT_RESERVE = 200.0


@dataclass(frozen=True, slots=True)
class Bucket:
    """One shop's bucket as an answer left it, at the time the answer was read."""

    maximum: float
    available: float
    restore_rate: float
    at: datetime

    def level(self, now: datetime) -> float:
        """The points it holds at ``now``, having refilled since the answer."""
        elapsed = max(0.0, (now - self.at).total_seconds())
        return min(self.maximum, self.available + elapsed * self.restore_rate)

    def wait(self, cost: float, reserve: float, now: datetime) -> float:
        """Seconds from ``now`` until it holds ``cost`` plus ``reserve`` (at most all of it), to the millisecond."""
        if self.restore_rate <= 0:
            return 0.0
        missing = min(cost + reserve, self.maximum) - self.level(now)
        return math.ceil(missing / self.restore_rate * 1000) / 1000 if missing > 0 else 0.0


class CostBuckets:
    """The last known bucket of each shop and the last requested cost of each read; thread-safe, since the
    outbox's actions and the sweep's reads share one connector (and each shop's bucket)."""

    def __init__(self, reserve: float = DEFAULT_RESERVE) -> None:
        self.reserve = reserve
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._costs: dict[tuple[str, object], float] = {}
        self._paced: dict[str, float] = {}

    def observe(self, shop: str, query: str, first: object, body: JSON, at: datetime) -> None:
        """Keep what an answer (data or errors, ``THROTTLED`` included) says of the bucket and of the query."""
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body.get("extensions"), dict) else None
        if not isinstance(cost, dict):
            return
        try:
            status = cost["throttleStatus"]
            bucket = Bucket(float(status["maximumAvailable"]), float(status["currentlyAvailable"]),
                            float(status["restoreRate"]), at)
        except (KeyError, TypeError, ValueError):
            bucket = None
        requested = cost.get("requestedQueryCost")
        with self._lock:
            if bucket is not None:
                self._buckets[shop] = bucket
            if isinstance(requested, int | float):
                self._costs[(query, first)] = float(requested)

    def wait(self, shop: str, query: str, first: object, now: datetime) -> float:
        """Seconds to wait before sending this read: until the shop's bucket holds its cost plus the reserve
        (0 when it does, or before any answer from the shop)."""
        with self._lock:
            bucket = self._buckets.get(shop)
            cost = self._costs.get((query, first), MAX_QUERY_COST)
        return 0.0 if bucket is None else bucket.wait(cost, self.reserve, now)

    def paced(self, shop: str, seconds: float = 0.0) -> float:
        """Add ``seconds`` waited for the shop's bucket; the seconds waited for it so far."""
        with self._lock:
            self._paced[shop] = total = self._paced.get(shop, 0.0) + seconds
            return total


def throttle_wait(body: JSON) -> float | None:
    """How long until the cost bucket holds the query's cost again, from a ``THROTTLED`` answer's ``extensions``.

    At least one point's worth, rounded up to the millisecond: the query was refused, so its cost was not all
    there, whatever a bucket reported to a fraction of a point says; a wait of 0 would only be refused again.
    """
    cost = (body.get("extensions") or {}).get("cost") or {}
    try:
        bucket = cost["throttleStatus"]
        missing = float(cost["requestedQueryCost"]) - float(bucket["currentlyAvailable"])
        return math.ceil(max(1.0, missing) / float(bucket["restoreRate"]) * 1000) / 1000
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
