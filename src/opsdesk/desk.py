"""A wired desk: settings, database, playbooks, pipeline, clock, metrics, connectors, and its threads."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from opsdesk.config import Settings
from opsdesk.domain.errors import Unavailable
from opsdesk.domain.org import Org
from opsdesk.domain.outbox import Breaker, RetryPolicy
from opsdesk.domain.policies import Playbook
from opsdesk.engine.outbox import OutboxSender
from opsdesk.engine.timers import Handler as TimerHandler
from opsdesk.engine.timers import TimerSweeper
from opsdesk.metrics import Metrics
from opsdesk.ports import Clock, Connector, Database
from opsdesk.services.cases import CaseHooks
from opsdesk.services.intake import GroupCommitter
from opsdesk.services.pipeline import BatchReport, Pipeline, process_pending

log = logging.getLogger("opsdesk")


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

    def secrets_for(self, shop: str) -> tuple[str, ...]:
        return self.settings.secrets_for(shop)

    def is_known(self, shop: str) -> bool:
        return self.settings.shop(shop) is not None

    def process_pending(self) -> BatchReport:
        with self.db.unit_of_work(read_only=True) as uow:  # an idle poll must not take the write lock
            if uow.deliveries.count("pending") == 0 and uow.deliveries.count("waiting") == 0:
                return BatchReport()
        report = process_pending(
            self.db.unit_of_work, self.pipeline, self.clock.now, self.settings.file.limits.batch_size
        )
        self.count(report)
        return report

    def sweeper(self, worker: str | None = None) -> TimerSweeper:
        return TimerSweeper(
            self.db, self.timer_handlers, self.clock, worker=worker or f"{socket.gethostname()}:{os.getpid()}"
        )

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

    def committer(self) -> GroupCommitter:
        def committed(count: int, new: int) -> None:
            self.metrics.intake.labels("stored").inc(new)
            self.metrics.intake.labels("duplicate").inc(count - new)
            self.wake.set()

        return GroupCommitter(self.db, on_commit=committed)

    def sender(self, worker: str | None = None) -> OutboxSender:
        cfg = self.settings.file.outbox
        return OutboxSender(
            self.db,
            self.connectors,
            self.clock,
            worker=worker or f"{socket.gethostname()}:{os.getpid()}",
            policy=RetryPolicy(cfg.max_attempts, cfg.base_delay_seconds, cfg.max_delay_seconds),
            lease=timedelta(seconds=cfg.lease_seconds),
            breaker=Breaker(
                threshold=cfg.breaker_threshold, cool_down=timedelta(seconds=cfg.breaker_cool_down_seconds)
            ),
            on_outcome=lambda outcome: self.metrics.actions.labels(outcome).inc(),
            case_hooks=self.case_hooks,
        )


class Background:
    """The threads of a running desk: the pipeline drain and the outbox sender."""

    def __init__(self, desk: Desk, *, pipeline: bool = True, outbox: bool = True) -> None:
        self.desk = desk
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        if pipeline:
            self.threads.append(threading.Thread(target=self._drain, name="opsdesk-pipeline", daemon=True))
        self.threads.append(threading.Thread(target=self._checkpoint, name="opsdesk-checkpoint", daemon=True))
        if outbox:  # the timers (SLA warnings and breaches, return timers, digests) run with the outbox
            poll = desk.settings.file.outbox.poll_seconds
            self.threads.append(
                threading.Thread(
                    target=desk.sweeper().run, args=(self.stop, poll), name="opsdesk-timers", daemon=True
                )
            )
            sender = desk.sender()
            poll = desk.settings.file.outbox.poll_seconds
            self.threads.append(
                threading.Thread(
                    target=sender.run,
                    args=(self.stop, poll, self._outage),
                    name="opsdesk-outbox",
                    daemon=True,
                )
            )

    def _checkpoint(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.desk.db.checkpoint()
            except Unavailable as exc:
                self._outage(exc)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        self.desk.wake.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def _outage(self, exc: Exception) -> None:
        log.warning("database unavailable, waiting: %s", exc)

    def _drain(self) -> None:
        while not self.stop.is_set():
            try:
                self.desk.process_pending()
            except Unavailable as exc:
                self._outage(exc)
                self.stop.wait(1.0)
                continue
            except Exception:  # a bug in one batch must not stop intake processing for good
                log.exception("pipeline batch failed; retrying in 5 s")
                self.stop.wait(5.0)
                continue
            self.desk.wake.wait(0.5)
            self.desk.wake.clear()
