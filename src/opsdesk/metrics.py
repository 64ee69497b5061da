"""Prometheus counters for intake, decisions, the outbox, the timers and Shopify's token grants, in a registry of
the app's own; and the case backlog gauge, read from the database when scraped, at most once every
``BACKLOG_MAX_AGE`` seconds."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from opsdesk.domain.errors import Unavailable

#: The text format ``render`` writes (prometheus_client's ``generate_latest``).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The body of the 401 a scrape without the token gets (with ``WWW-Authenticate: Bearer``).
SCRAPE_REFUSED = {"error": "/metrics needs the bearer token set in OPSDESK_METRICS_TOKEN"}
#: Seconds a backlog count answers scrapes before the database is asked again (ADR 0035): however many
#: scrapers, and however often they come, a process counts at most once in this time.
BACKLOG_MAX_AGE = 15.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.intake = Counter(
            "opsdesk_intake_deliveries",
            "Webhook deliveries received, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.events = Counter("opsdesk_pipeline_events", "Domain events processed", registry=self.registry)
        self.deliveries = Counter(
            "opsdesk_pipeline_deliveries",
            "Stored deliveries processed, by result",
            ["result"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "opsdesk_decisions", "Decisions recorded, by outcome", ["outcome"], registry=self.registry
        )
        self.actions = Counter(
            "opsdesk_outbox_actions", "Outbox action outcomes", ["outcome"], registry=self.registry
        )
        self.cases = Counter("opsdesk_cases_opened", "Cases opened", registry=self.registry)
        self.timers = Counter(
            "opsdesk_timers", "Timers swept, by outcome", ["outcome"], registry=self.registry
        )
        self.token_grants = Counter(
            "opsdesk_shopify_token_grants",
            "Shopify client credentials grants asked, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        # Every outcome a process can count is exported from its start, at 0: a rate or an alert over a
        # series that appears only at its first event would see nothing until then.
        for counter, outcomes in (
            (self.intake, ("stored", "duplicate")),
            (self.deliveries, ("processed", "ignored", "failed", "held")),
            (self.decisions, ("automate", "escalate", "ignore")),
            (self.actions, ("sent", "retried", "failed", "deferred", "cancelled", "withdrawn")),
            (self.timers, ("fired", "retried", "failed", "lost")),
            (self.token_grants, ("granted", "refused", "failed")),
        ):
            for outcome in outcomes:
                counter.labels(outcome)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BacklogGauge(Collector):
    """``opsdesk_case_backlog{queue}``: active cases per queue, as ``count`` gives them when a scrape comes.

    A count is reused for ``max_age`` seconds (of ``monotonic``), and scrapes that come together wait for one
    count, so the database is asked at most once in that time. While the database is away (``Unavailable``),
    the gauge is left out and the other metrics still render; that too is remembered for ``max_age``."""

    def __init__(self, count: Callable[[], Mapping[str, int]], *, max_age: float = BACKLOG_MAX_AGE,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._count = count
        self._max_age = max_age
        self._monotonic = monotonic
        self._counted: tuple[float, Mapping[str, int] | None] | None = None  # when, and what (None: away)
        self._lock = threading.Lock()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield _backlog_family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._counts()
        if counts is None:
            return
        gauge = _backlog_family()
        for queue, count in counts.items():
            gauge.add_metric([queue], count)
        yield gauge

    def _counts(self) -> Mapping[str, int] | None:
        with self._lock:
            now = self._monotonic()
            if self._counted is not None and now - self._counted[0] < self._max_age:
                return self._counted[1]
            try:
                counts: Mapping[str, int] | None = dict(self._count())
            except Unavailable:
                counts = None
            self._counted = (now, counts)
            return counts


def _backlog_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("opsdesk_case_backlog", "Active cases by queue", labels=["queue"])


def scrape_allowed(authorization: str | None, token: str | None) -> bool:
    """Whether a request with this ``Authorization`` header may read the metrics: any request when no token
    is set (``OPSDESK_METRICS_TOKEN``), else only ``Bearer <token>``, compared in constant time."""
    if not token:
        return True
    scheme, _, presented = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
