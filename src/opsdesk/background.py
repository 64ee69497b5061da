"""The threads of a running desk (``serve`` and ``worker``): what drains, sends, sweeps and probes."""

from __future__ import annotations

import logging
import threading

from opsdesk.desk import Desk
from opsdesk.domain.errors import Unavailable
from opsdesk.engine.polling import keep_polling
from opsdesk.readiness.evidence import probe_due
from opsdesk.services.reconcile import Reconciler

log = logging.getLogger("opsdesk")


class Background:
    """The threads of a running desk: the pipeline drain and the outbox sender."""

    #: How long ``close`` waits for each thread: what a stopping thread may still be doing must end by then.
    GRACE_SECONDS = 10.0

    def __init__(self, desk: Desk, *, pipeline: bool = True, outbox: bool = True,
                 first_sweep_after: float = 60.0) -> None:
        """``first_sweep_after``: seconds from the start to the first reconciliation sweep (webhooks flow
        meanwhile)."""
        self.desk = desk
        self.stop = threading.Event()
        self._first_sweep_after = first_sweep_after
        self.threads: list[threading.Thread] = []
        if pipeline:
            self.threads.append(threading.Thread(target=self._drain, name="opsdesk-pipeline", daemon=True))
        self.threads.append(threading.Thread(target=self._checkpoint, name="opsdesk-checkpoint", daemon=True))
        if outbox:  # the timers (SLA warnings and breaches, return timers, digests, housekeeping) run with the outbox
            poll = desk.settings.file.outbox.poll_seconds
            self.threads.append(
                threading.Thread(
                    target=desk.sweeper(housekeeping=True).run, args=(self.stop, poll), name="opsdesk-timers",
                    daemon=True,
                )
            )
            if desk.discount_guard is not None:  # new discounts' terms, read from the Admin API
                self.threads.append(threading.Thread(
                    target=keep_polling, args=(lambda: desk.inspect_discounts() > 0, self.stop, 5.0, self._outage),
                    name="opsdesk-discounts", daemon=True))
            # The sweep's waits (retries, pacing by the cost bucket: up to ~20 s) end when the desk stops.
            enabled = desk.settings.file.reconcile.enabled
            reconciler = desk.reconciler(self._pause, self.stop.is_set) if enabled else None
            if reconciler is not None:  # lost webhooks, found through the Admin API (ADR 0015)
                self.threads.append(threading.Thread(
                    target=self._reconcile, args=(reconciler,), name="opsdesk-reconcile", daemon=True))
            if desk.page_probe is not None:
                self.threads.append(threading.Thread(
                    target=keep_polling, args=(self._probe_pages, self.stop, 300.0, self._outage),
                    name="opsdesk-probes", daemon=True))
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

    def _reconcile(self, reconciler: Reconciler) -> None:
        if self.stop.wait(self._first_sweep_after):
            return

        def step() -> bool:  # a sweep is due once a period: never "more work waiting"
            self.desk.reconcile_due(reconciler)
            return False

        keep_polling(step, self.stop, 60.0, self._outage)

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the desk is stopped meanwhile."""
        self.stop.wait(seconds)

    def _probe_pages(self) -> bool:
        assert self.desk.page_probe is not None
        probe_due(self.desk.db, self.desk.settings, self.desk.page_probe, self.desk.clock)
        return False

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
            thread.join(timeout=self.GRACE_SECONDS)

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
