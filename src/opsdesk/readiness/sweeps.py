"""The reconciliation sweep as readiness evidence: lost webhooks are found only while its sweeps finish.

A sweep's outcome is recorded per shop when it changes (``services.reconcile_outage``, by the worker and by
``opsdesk reconcile``), so an outage is one row (ADR 0010, amended 2026-11-29). A shop whose sweeps cannot run
at all, because the variables of its Admin API credentials are unset, fails at once, before any sweep has
failed and without a call to Shopify (ADR 0048); so does a shop whose credentials Shopify refused an action, or
whose app was uninstalled, at once, before any sweep (ADR 0067)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opsdesk.domain.readiness import Control, Measurement, Offender
from opsdesk.readiness.context import Context, ReadinessControl, fix
from opsdesk.services.reconcile_mark import read_mark
from opsdesk.services.reconcile_outage import failing_since
from opsdesk.services.shop_credentials import SHOPIFY, refused_since

Thresholds = Mapping[str, float]


def webhooks_reconciled(ctx: Context, th: Thresholds) -> Measurement:
    cfg = ctx.settings.file.reconcile
    shops = ctx.settings.file.shops
    if not cfg.enabled:
        return Measurement(True, "reconciliation is off (reconcile.enabled: false): lost webhooks are not looked for",
                           {"enabled": False}, ())
    offenders: list[Offender] = []
    measured: dict[str, dict[str, datetime | str | None]] = {}
    for shop in shops:
        began, mark = failing_since(ctx.uow, shop.domain), read_mark(ctx.uow, shop.domain)
        unset, refused = shop.unset_admin_credentials(), refused_since(ctx.uow, SHOPIFY, shop.domain)
        measured[shop.domain] = {"last_finished_sweep": mark,
                                 "failing_since": began.at if began else None,
                                 "unset": ", ".join(unset) or None,
                                 "credentials_refused_since": refused.at if refused else None}
        if unset:
            offenders.append(Offender("shop", shop.domain, f"sweeps cannot run: {' and '.join(unset)} not set "
                                                           "(no Admin API access token)"))
        elif refused is not None:  # an action or app/uninstalled said so: no need to wait for a sweep (ADR 0067)
            offenders.append(Offender("shop", shop.domain, f"Shopify refuses its Admin API credentials since "
                                                           f"{refused.at.isoformat()}: {refused.error}; sweeps cannot "
                                                           "run and its actions wait"))
        elif began is not None:
            offenders.append(Offender("shop", shop.domain, f"sweeps failing since {began.at.isoformat()}: "
                                                           f"{began.error}"))
    return Measurement(
        not offenders,
        f"{len(shops) - len(offenders)} of {len(shops)} shops' sweeps finish"
        + (": lost webhooks go unnoticed while a shop's sweeps fail or cannot run" if offenders else ""),
        {"shops": measured}, tuple(offenders),
    )


CONTROLS: tuple[ReadinessControl, ...] = (
    Control(
        "webhooks-reconciled", "Lost webhooks are found by reconciliation",
        "shops whose reconciliation sweeps through the Admin API fail or cannot run (no access token, a revoked "
        "one, errors)",
        fix("webhooks-reconciled"), {}, webhooks_reconciled,
    ),
)
