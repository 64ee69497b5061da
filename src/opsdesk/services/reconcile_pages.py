"""The sweep's reads of the Admin API: each page tried again on a transient failure, through one breaker.

A read that answers ``RetryLater`` (throttled, 429, 5xx, a time-out) is tried up to ``attempts`` times,
waiting what the provider said (``Retry-After``, the throttle's cost), else 1, 2, 4 ... seconds, at most
``max_wait``; one that answers ``Rejected`` is not (asking again cannot help). The circuit breaker is the
sweeper's, kept across sweeps as the outbox keeps its own: while it is open, no read is sent. A sweeper
asked to stop (the worker shutting down) sends no further read: the sweep fails, its mark kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from opsdesk.domain.outbox import Breaker, CredentialsRefused, Rejected, RetryLater
from opsdesk.services.reconcile_report import SweepFailed, SweepRefused, SweepSettings

__all__ = ["Fetch", "Reads", "read_page", "read_pages"]

JSON = dict[str, Any]
#: One read from a cursor (None: the first page): the page, or why not.
Fetch = Callable[[str | None], JSON | RetryLater | Rejected]


class Reads(Protocol):
    """What the retries need of the sweeper: its settings, its breaker (replaced as it moves), its clock, its
    sleeper, and whether it is asked to stop."""

    settings: SweepSettings
    breaker: Breaker
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    stopped: Callable[[], bool]


def read_pages(reads: Reads, what: str, fetch: Fetch) -> Iterator[JSON]:
    """Every page of one query, following ``pageInfo.endCursor``; raises SweepFailed for one not read."""
    cursor: str | None = None
    while True:
        page = read_page(reads, what, fetch, cursor)
        yield page
        info = page.get("pageInfo") or {}
        cursor = info.get("endCursor")
        if not info.get("hasNextPage") or not cursor:
            return


def read_page(reads: Reads, what: str, fetch: Fetch, cursor: str | None) -> JSON:
    """One read, with its retries; raises SweepFailed when it was refused or never answered."""
    last = ""
    attempts = reads.settings.attempts
    for attempt in range(max(1, attempts)):
        if reads.stopped():
            raise SweepFailed(f"stopped before the {what} query: the desk is shutting down")
        now = reads.now()
        if not reads.breaker.allows(now):
            raise SweepFailed(f"the Admin API breaker is open after {reads.breaker.failures} failures: {last}")
        reads.breaker = reads.breaker.probe(now)
        reply = fetch(cursor)
        reads.breaker = reads.breaker.record(isinstance(reply, dict), reads.now())
        if isinstance(reply, dict):
            return reply
        last = reply.reason
        if isinstance(reply, Rejected):
            raise SweepRefused(f"the Admin API refused the {what} query: {reply.reason}",
                               credentials=isinstance(reply, CredentialsRefused))
        if attempt + 1 < attempts:
            wait = reply.retry_after if reply.retry_after is not None else 2.0**attempt
            reads.sleep(min(max(wait, 0.0), reads.settings.max_wait))
    raise SweepFailed(f"the Admin API did not answer the {what} query: {last}")
