"""A shop's reconciliation sweeps as they go: each outcome recorded for readiness, an outage a case for a person.

A sweep's outcome is recorded per shop as a probe of kind ``reconcile`` when it changes (a sweep that fails after
one that finished, or the other way round), so an outage is one row, whose time says since when the sweeps fail
(ADR 0010, amended 2026-11-29); the readiness control ``webhooks-reconciled`` reads it. The worker's sweeps and
``opsdesk reconcile`` record alike.

Sweeps that keep failing for ``after`` open one ``incident`` case for the shop (ADR 0048): while they fail, lost
webhooks are not looked for, and a readiness control nobody reads is not a person told. Its id is made from the
shop and the time the outage began, so the worker's retries each minute find it opened and add nothing, and the
next outage gets a case of its own. The first sweep that finishes again settles it (``cases.settle``): resolved
by ``automation`` if nobody started on it, else marked moot on its timeline for the person working it.

A sweep refused because Shopify refuses the shop's credentials (``SweepRefused.credentials``) marks them refused as
the outbox does, holds the shop's actions and opens the one credentials case (``shop_credentials``, ADR 0067 as
amended in session 14); its failure is recorded as any other, but opens no outage case of its own: the cause is one,
and so is its case. A sweep that read the Admin API (finished, or read a page before failing) clears the mark and
settles that case, as the outbox's first delivery does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_reconcile import ReconcileOutageConfig
from opsdesk.domain.ids import fit_id
from opsdesk.domain.readiness import Probe
from opsdesk.domain.records import CaseRecord
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case, settle
from opsdesk.services.reconcile_report import SweepReport
from opsdesk.services.shop_credentials import SHOPIFY, hold_refused, record_working

log = logging.getLogger("opsdesk")

KIND = "reconcile"
WHAT = "reconciliation sweep"  # the probe's url: there is no page, the sweep reads the Admin API
SOURCE = "monitor:reconcile"


@dataclass(frozen=True, slots=True)
class OutageCase:
    """Where the case of an outage goes, and after how long."""

    after: timedelta
    queue: str
    priority: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a sweep did: ``changed``, the outcome differs from the last one recorded (log it once);
    ``opened`` or ``settled``, the id of the outage's case this sweep opened or settled."""

    changed: bool
    opened: str | None = None
    settled: str | None = None


def record_sweeps(db: Database, reports: Sequence[SweepReport], cfg: ReconcileOutageConfig, hooks: CaseHooks,
                  now: datetime) -> None:
    """Record each sweep's outcome and open or settle its shop's outage case; logged once an outage (a failure at
    WARNING when it begins one, at DEBUG while it goes on), not once a minute."""
    outage = OutageCase(timedelta(minutes=cfg.after_minutes), cfg.queue, cfg.priority) if cfg.enabled else None
    for report in reports:
        shop = report.shop
        if report.appended:
            log.warning("reconciliation: %s had %d lost or stale orders, refunds and disputes", shop,
                        report.appended, extra={"shop": shop, "appended": report.appended})
        error = None if report.ok else report.error or "failed"
        done = record_sweep(db, shop, error, report.started_at, outage=None if report.credentials_refused else outage,
                            hooks=hooks, now=now)
        record_credentials(db, report, cfg.queue, hooks, now)
        if error is not None:
            log.log(logging.WARNING if done.changed else logging.DEBUG, "reconciliation of %s failed, mark kept: %s",
                    shop, error, extra={"shop": shop})
        elif done.changed:
            log.info("reconciliation of %s finished", shop, extra={"shop": shop})
        if done.opened:
            log.warning("reconciliation of %s: outage case %s opened", shop, done.opened, extra={"shop": shop})
        elif done.settled:
            log.info("reconciliation of %s: outage case %s settled", shop, done.settled, extra={"shop": shop})


def record_credentials(db: Database, report: SweepReport, queue: str, hooks: CaseHooks, now: datetime) -> None:
    """What the sweep says of the shop's Shopify credentials: refused (marked, the shop's actions held, the one case
    opened) or working (it read a page: the mark cleared and the case settled, when there was one)."""
    if not (report.credentials_refused or report.ok or report.pages):
        return
    with db.unit_of_work() as uow:
        if report.credentials_refused:
            hold_refused(uow, SHOPIFY, report.shop, report.error, now, queue=queue, hooks=hooks)
        else:
            record_working(uow, SHOPIFY, report.shop, now, hooks)
        uow.commit()


def outage_case_id(shop: str, since: datetime) -> str:
    """The case of the outage of ``shop``'s sweeps that began at ``since``: one an outage."""
    return fit_id(f"reconcile-outage-{shop}-{int(since.timestamp())}", "-")


def failing_since(uow: UnitOfWork, shop: str) -> Probe | None:
    """The recorded failure that began the shop's current outage, or None while its sweeps finish."""
    last = uow.readiness.latest_probe(KIND, shop)
    return last if last is not None and not last.answered else None


def record_sweep(
    db: Database, shop: str, error: str | None, at: datetime, *, outage: OutageCase | None = None,
    hooks: CaseHooks | None = None, now: datetime | None = None,
) -> Recorded:
    """Record a sweep of ``shop`` started at ``at`` that finished (``error`` None) or failed, in one transaction with
    the outage's case: opened (with ``outage``, once the outage is that old) or settled, at ``now`` (default ``at``)."""
    when, case_hooks = now or at, hooks or CaseHooks()
    with db.unit_of_work() as uow:
        began = failing_since(uow, shop)
        if (began is None) == (error is None):  # no change: an outage goes on, or sweeps keep finishing
            opened = _open(uow, shop, began, error, outage, case_hooks, when) if began and error else None
            if opened:
                uow.commit()
            return Recorded(False, opened=opened)
        uow.readiness.add_probe(Probe(KIND, shop, WHAT, at, None if error else 200, None, error or ""))
        settled = _settle(uow, shop, began, at, case_hooks, when) if began is not None else None
        uow.commit()
    return Recorded(True, settled=settled)


def _open(uow: UnitOfWork, shop: str, began: Probe, error: str, outage: OutageCase | None, hooks: CaseHooks,
          now: datetime) -> str | None:
    """The outage's case, opened when it has lasted ``outage.after``; None when not now (not that long yet, off,
    or opened by an earlier retry)."""
    case_id = outage_case_id(shop, began.at)
    if outage is None or now - began.at < outage.after or uow.cases.keys([case_id]):
        return None
    minutes = int((now - began.at).total_seconds() // 60)
    open_case(uow, CaseRecord(
        id=case_id, shop=shop, kind="incident", queue=outage.queue,
        title=f"Reconciliation of {shop} is failing: lost webhooks are not looked for",
        reason=f"every sweep since {began.at.isoformat()} ({minutes} minutes) failed: {began.error}"
               + (f"; the last: {error}" if error != began.error else ""),
        opened_at=now, source=SOURCE, priority=outage.priority,
        detail={"playbook": "reconcile-outage", "failing_since": began.at.isoformat(), "first_error": began.error,
                "error": error},
    ), hooks, now)
    return case_id


def _settle(uow: UnitOfWork, shop: str, began: Probe, at: datetime, hooks: CaseHooks, now: datetime) -> str | None:
    """The outage's case, if it had one, told that the sweeps finish again (they re-read what they missed)."""
    case_id = outage_case_id(shop, began.at)
    if not uow.cases.keys([case_id]):
        return None
    settle(uow, case_id, f"a sweep of {shop} finished again (started {at.isoformat()}), reading the window the "
                         "failed sweeps missed", now, hooks)
    return case_id
