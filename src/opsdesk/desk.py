"""A wired desk: settings, database, playbooks, pipeline, clock, metrics, connectors, and its threads."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from opsdesk.config import Settings
from opsdesk.domain.ids import fit_id
from opsdesk.domain.org import Org
from opsdesk.domain.outbox import Breaker, RetryPolicy
from opsdesk.domain.policies import Playbook
from opsdesk.domain.records import Timer
from opsdesk.engine.outbox import OutboxSender, SendCheck
from opsdesk.engine.timers import Handler as TimerHandler
from opsdesk.engine.timers import TimerSweeper
from opsdesk.metrics import Metrics
from opsdesk.ports import Clock, Connector, Database
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.readiness.evidence import Fetch
from opsdesk.services.cases import CaseHooks
from opsdesk.services.desk_metrics import queue_backlog
from opsdesk.services.discount_terms import TermsReader, inspect_pending
from opsdesk.services.discounts import DiscountGuard
from opsdesk.services.effects import QUEUE_KINDS
from opsdesk.services.erasures import ErasedCustomers
from opsdesk.services.intake import GroupCommitter
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import BatchReport
from opsdesk.services.pipeline_drain import process_pending
from opsdesk.services.reconcile import OrderReader, Reconciler, SweepReport, SweepSettings, due
from opsdesk.services.reconcile_outage import record_sweeps

log = logging.getLogger("opsdesk")


def this_worker() -> str:
    """This process as the owner of the leases it takes (``host:pid``, fitted to the ``lease_owner`` columns:
    a container's host name may be 63 characters)."""
    return fit_id(f"{socket.gethostname()}:{os.getpid()}")


@dataclass
class Desk:
    """Everything an entry point needs, wired."""

    settings: Settings
    db: Database
    playbooks: list[Playbook]
    pipeline: Pipeline
    clock: Clock
    metrics: Metrics
    connectors: Mapping[str, Connector]
    wake: threading.Event = field(default_factory=threading.Event)
    org: Org = field(default_factory=Org)
    case_hooks: CaseHooks = field(default_factory=CaseHooks)
    timer_handlers: Mapping[str, TimerHandler] = field(default_factory=dict)
    #: What an action's outcome sets off, by action kind (label fallbacks, carrier and email health).
    outcome_hooks: Mapping[str, OutcomeHook] = field(default_factory=dict)
    #: What is asked before an action of a kind is sent (a refund paid meanwhile is not sent again).
    send_checks: Mapping[str, SendCheck] = field(default_factory=dict)
    #: Why an action of a kind need not go any more (an email whose reason has passed is withdrawn, ADR 0068).
    send_lapses: Mapping[str, SendCheck] = field(default_factory=dict)
    #: The discount guardrails (ADR 0007): ``inspect_discounts`` reads new discounts' terms and checks them.
    discount_guard: DiscountGuard | None = None
    #: Fetches a shop page for the readiness probes (storefront speed, returns policy), once a day.
    page_probe: Fetch | None = None
    #: Housekeeping timers that arm themselves again (the usage retention sweep): a sweeper made with
    #: ``housekeeping=True`` arms them when it starts.
    standing_timers: tuple[Callable[[datetime], Timer], ...] = ()
    #: The erased customers (ADR 0021): every path that stores deliveries screens them with it.
    erased: ErasedCustomers = field(default_factory=ErasedCustomers)
    #: What the desk's waits outside the worker wait with (``opsdesk reconcile``'s retries and pacing); a test's
    #: moves its clock. The worker's threads wait on their stop event instead (``Background._pause``).
    sleep: Callable[[float], None] = time.sleep

    def inspect_discounts(self, limit: int = 20) -> int:
        """Read the terms of the discounts heard of and run the preflight; how many were checked."""
        reader = self.connectors.get("shopify")
        if self.discount_guard is None or not hasattr(reader, "discount_terms"):
            return 0
        return inspect_pending(self.db, cast(TermsReader, reader), self.discount_guard, self.clock.now, limit)

    def secrets_for(self, shop: str) -> tuple[str, ...]:
        return self.settings.secrets_for(shop)

    def is_known(self, shop: str) -> bool:
        return self.settings.shop(shop) is not None

    def process_pending(self) -> BatchReport:
        """Process the pending deliveries (an idle poll is one read-only transaction: no write lock)."""
        report = process_pending(
            self.db.unit_of_work, self.pipeline, self.clock.now, self.settings.file.limits.batch_size, self.erased
        )
        self.count(report)
        return report

    def sweeper(self, worker: str | None = None, *, housekeeping: bool = False) -> TimerSweeper:
        return TimerSweeper(
            self.db, self.timer_handlers, self.clock, worker=worker or this_worker(),
            standing=self.standing_timers if housekeeping else (),
            on_outcome=lambda outcome, n: self.metrics.timers.labels(outcome).inc(n),
        )

    def case_backlog(self) -> dict[str, int]:
        """Active cases in every queue the organisation names and every one the playbooks escalate to."""
        return queue_backlog(self.db, {*self.org.queues, *QUEUE_KINDS})

    def count(self, report: BatchReport) -> None:
        """Add a pipeline report to the metrics."""
        m = self.metrics
        m.events.inc(report.events)
        for result in ("ignored", "failed", "held"):
            m.deliveries.labels(result).inc(getattr(report, result))
        m.deliveries.labels("processed").inc(report.deliveries - report.ignored - report.failed - report.held)
        m.decisions.labels("automate").inc(report.automated)
        m.decisions.labels("escalate").inc(report.escalated)
        m.decisions.labels("ignore").inc(report.decisions - report.automated - report.escalated)
        m.cases.inc(report.cases)

    def reconciler(
        self, sleep: Callable[[float], None] | None = None, stopped: Callable[[], bool] = lambda: False
    ) -> Reconciler | None:
        """The reconciliation sweep over the Shopify connector (ADR 0015); None when it cannot query orders.

        ``sleep`` is what its waits (a retry's, and the connector's pacing by the cost bucket) wait with (default:
        the desk's), and ``stopped`` tells it to end before its next read: the worker's stop event (``Background``)."""
        reader, sleep = self.connectors.get("shopify"), sleep or self.sleep
        if not hasattr(reader, "orders_updated"):
            return None
        pacing_with = getattr(reader, "pacing_with", None)  # the Shopify connector's own pacing waits too
        if pacing_with is not None:
            reader = pacing_with(sleep)
        cfg = self.settings.file.reconcile
        settings = SweepSettings(overlap=timedelta(minutes=cfg.overlap_minutes), page_size=cfg.page_size,
                                 initial_lookback=timedelta(hours=cfg.initial_lookback_hours),
                                 disputes=cfg.disputes and hasattr(reader, "disputes_initiated"),
                                 dispute_window=timedelta(days=cfg.dispute_window_days))
        playbooks = self.pipeline.playbooks

        def listeners(event: str) -> list[str]:  # who decides an event: their decision ids say it was heard
            return [p.name for p in playbooks if p.listens_to(event)] or ["-"]

        return Reconciler(self.db, cast(OrderReader, reader), self.clock.now, settings, sleep=sleep,
                          stopped=stopped, listeners=listeners, screen=self.erased.screen)

    def reconcile_due(self, reconciler: Reconciler) -> list[SweepReport]:
        """Sweep the configured shops whose last sweep is a period old, then process what was appended."""
        period = timedelta(minutes=self.settings.file.reconcile.period_minutes)
        shops = due(self.db, [s.domain for s in self.settings.file.shops], self.clock.now(), period)
        reports = [reconciler.sweep(shop) for shop in shops]
        self.record_sweeps(reports)
        if any(r.appended for r in reports):
            self.wake.set()
        return reports

    def record_sweeps(self, reports: list[SweepReport]) -> None:
        """Record each sweep's outcome for ``webhooks-reconciled`` and open or settle its shop's outage case."""
        record_sweeps(self.db, reports, self.settings.file.reconcile.outage, self.case_hooks, self.clock.now())

    def committer(self) -> GroupCommitter:
        def committed(count: int, new: int) -> None:
            self.metrics.intake.labels("stored").inc(new)
            self.metrics.intake.labels("duplicate").inc(count - new)
            self.wake.set()

        return GroupCommitter(self.db, on_commit=committed, screen=self.erased.screen)

    def sender(self, worker: str | None = None, rng: random.Random | None = None) -> OutboxSender:
        """The outbox sender; ``rng`` seeds its retry jitter (the simulator's runs repeat exactly)."""
        cfg = self.settings.file.outbox
        return OutboxSender(
            self.db,
            self.connectors,
            self.clock,
            worker=worker or this_worker(),
            policy=RetryPolicy(cfg.max_attempts, cfg.base_delay_seconds, cfg.max_delay_seconds),
            lease=timedelta(seconds=cfg.lease_seconds),
            breaker=Breaker(
                threshold=cfg.breaker_threshold, cool_down=timedelta(seconds=cfg.breaker_cool_down_seconds)
            ),
            on_outcome=lambda outcome: self.metrics.actions.labels(outcome).inc(),
            case_hooks=self.case_hooks,
            outcome_hooks=self.outcome_hooks,
            checks=self.send_checks,
            lapses=self.send_lapses,
            rng=rng,
            incidents_queue=self.settings.file.reconcile.outage.queue,
        )
