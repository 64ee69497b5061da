"""Prometheus counters for intake, decisions and the outbox, in a registry of the app's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
