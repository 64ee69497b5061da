"""Prometheus counters for intake, decisions, the outbox and the timers, in a registry of the app's own."""

from __future__ import annotations

import hmac

from prometheus_client import CollectorRegistry, Counter, generate_latest

#: The text format ``render`` writes (prometheus_client's ``generate_latest``).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The body of the 401 a scrape without the token gets (with ``WWW-Authenticate: Bearer``).
SCRAPE_REFUSED = {"error": "/metrics needs the bearer token set in OPSDESK_METRICS_TOKEN"}


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
        # Every outcome a process can count is exported from its start, at 0: a rate or an alert over a
        # series that appears only at its first event would see nothing until then.
        for counter, outcomes in (
            (self.intake, ("stored", "duplicate")),
            (self.deliveries, ("processed", "ignored", "failed", "held")),
            (self.decisions, ("automate", "escalate", "ignore")),
            (self.actions, ("sent", "retried", "failed", "deferred")),
            (self.timers, ("fired", "retried", "failed", "lost")),
        ):
            for outcome in outcomes:
                counter.labels(outcome)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def scrape_allowed(authorization: str | None, token: str | None) -> bool:
    """Whether a request with this ``Authorization`` header may read the metrics: any request when no token
    is set (``OPSDESK_METRICS_TOKEN``), else only ``Bearer <token>``, compared in constant time."""
    if not token:
        return True
    scheme, _, presented = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
