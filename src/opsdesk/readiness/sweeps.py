"""The reconciliation sweep as readiness evidence: lost webhooks are found only while its sweeps finish.

The worker records a sweep's outcome per shop as a probe of kind ``reconcile`` when it changes (a sweep that
fails after one that finished, or the other way round), so an outage is one row and one log line, not one a
minute (ADR 0010, amended 2026-11-29)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opsdesk.domain.readiness import Control, Measurement, Offender, Probe
from opsdesk.ports import Database
from opsdesk.readiness.context import Context, ReadinessControl, fix
from opsdesk.services.reconcile_mark import read_mark

Thresholds = Mapping[str, float]
KIND = "reconcile"
WHAT = "reconciliation sweep"  # the probe's url: there is no page, the sweep reads the Admin API


def record_sweep(db: Database, shop: str, error: str | None, at: datetime) -> bool:
    """Record a sweep of ``shop`` that finished (``error`` None) or failed, when that differs from the last one
    recorded (the first failure of an outage names its cause); True when it did (the caller logs it once)."""
    with db.unit_of_work() as uow:
        last = uow.readiness.latest_probe(KIND, shop)
        failing = last is not None and not last.answered
        if last is not None and failing == (error is not None):
            return False
        uow.readiness.add_probe(Probe(KIND, shop, WHAT, at, None if error else 200, None, error or ""))
        uow.commit()
    return True


def webhooks_reconciled(ctx: Context, th: Thresholds) -> Measurement:
    cfg = ctx.settings.file.reconcile
    shops = [s.domain for s in ctx.settings.file.shops]
    if not cfg.enabled:
        return Measurement(True, "reconciliation is off (reconcile.enabled: false): lost webhooks are not looked for",
                           {"enabled": False}, ())
    offenders: list[Offender] = []
    measured: dict[str, dict[str, str | None]] = {}
    for shop in shops:
        last = ctx.uow.readiness.latest_probe(KIND, shop)
        mark = read_mark(ctx.uow, shop)
        measured[shop] = {"last_finished_sweep": mark.isoformat() if mark else None,
                          "failing_since": last.at.isoformat() if last and not last.answered else None}
        if last is not None and not last.answered:
            offenders.append(Offender("shop", shop, f"sweeps failing since {last.at.isoformat()}: {last.error}"))
    return Measurement(
        not offenders,
        f"{len(shops) - len(offenders)} of {len(shops)} shops' sweeps finish"
        + (": lost webhooks go unnoticed while a shop's sweeps fail" if offenders else ""),
        {"shops": measured}, tuple(offenders),
    )


CONTROLS: tuple[ReadinessControl, ...] = (
    Control(
        "webhooks-reconciled", "Lost webhooks are found by reconciliation",
        "shops whose reconciliation sweeps through the Admin API fail (no access token, a revoked one, errors)",
        fix("webhooks-reconciled"), {}, webhooks_reconciled,
    ),
)
