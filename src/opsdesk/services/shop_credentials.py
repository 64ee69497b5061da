"""A shop's credentials refused by a provider: one durable state, one case, until a call goes through (ADR 0067).

The first answer that refuses a shop's credentials (Shopify: a 401, a 403 naming no scope; the connector says
``CredentialsRefused``), or an ``app/uninstalled`` webhook, marks them refused: a probe of kind
``credentials:<provider>`` whose error says what the provider said, written only when the state changes (as the
reconciliation sweep's, ADR 0048), so the outage is one row whose time says since when, read by every process and
by the readiness control ``webhooks-reconciled``. In the same transaction one ``incident`` case opens for a person,
its id made from the shop and the time the refusal began: the outbox's later refusals find it and add nothing.
While refused, the outbox holds the shop's actions for that provider (``engine/credentials.py``). The first action
delivered again, or a reconciliation sweep that reads, records the credentials as working, settles the case
(``cases.settle``) and makes the held actions due at once (``release_shop``).
``UninstallWatch`` is the pipeline's watcher for ``app/uninstalled``: one triggered before the desk last knew the
credentials working (``last_worked``) is a late retry, recorded in the audit and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from opsdesk.domain.events import AppUninstalled, StoreEvent
from opsdesk.domain.ids import fit_id
from opsdesk.domain.outbox import credentials_probe_at
from opsdesk.domain.readiness import Probe
from opsdesk.domain.records import AuditEntry, CaseRecord
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case, settle
from opsdesk.services.reconcile_mark import read_mark

log = logging.getLogger("opsdesk.credentials")

WHAT = "Admin API credentials"  # the probe's url: no page, the provider's answers to the desk's calls
SOURCE = "monitor:credentials"
#: The provider whose credentials an ``app/uninstalled`` webhook says are gone.
SHOPIFY = "shopify"
#: The audit entry of an ``app/uninstalled`` triggered before the credentials last worked: not acted on.
UNINSTALL_IGNORED = "credentials.uninstall_ignored"


def kind(provider: str) -> str:
    """The probe kind that holds a provider's credentials state for each shop."""
    return f"credentials:{provider}"


def refused_since(uow: UnitOfWork, provider: str, shop: str) -> Probe | None:
    """The recorded refusal that began the shop's current one, or None while its credentials work."""
    last = uow.readiness.latest_probe(kind(provider), shop)
    return last if last is not None and not last.answered else None


def refused(uow: UnitOfWork, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """Of these (provider, shop) pairs, those whose credentials are refused, with since when."""
    found = {pair: refused_since(uow, *pair) for pair in set(pairs)}
    return {pair: probe.at for pair, probe in found.items() if probe is not None}


def last_worked(uow: UnitOfWork, provider: str, shop: str) -> tuple[datetime, str] | None:
    """The latest time the desk durably knows the shop's credentials worked, and how it knows; None if it knows none.

    Two records say so: the credentials recorded working again after a refusal (this module's probe), and, for
    Shopify, the start of the last reconciliation sweep that finished (its mark, ADR 0015: every read it made came
    after). An action delivered is not recorded as such (a write a batch): an uninstall triggered between the last
    of these and a later delivery still marks the shop, and the next action's probe clears it."""
    found: list[tuple[datetime, str]] = []
    probe = uow.readiness.latest_probe(kind(provider), shop)
    if probe is not None and probe.answered:
        found.append((probe.at, "credentials recorded working"))
    mark = read_mark(uow, shop) if provider == SHOPIFY else None
    if mark is not None:
        found.append((mark, "the last reconciliation sweep that finished"))
    return max(found, default=None)


def case_id(provider: str, shop: str, since: datetime) -> str:
    """The case of the refusal of ``shop``'s credentials for ``provider`` that began at ``since``."""
    return fit_id(f"credentials-{provider}-{shop}-{int(since.timestamp())}", "-")


def record_refusal(uow: UnitOfWork, provider: str, shop: str, reason: str, at: datetime, *, queue: str,
                   hooks: CaseHooks) -> datetime:
    """Mark the shop's credentials refused (unless they already are) and open the refusal's case (unless it is);
    returns since when they are refused. The caller commits."""
    began = refused_since(uow, provider, shop)
    if began is None:
        began = Probe(kind(provider), shop, WHAT, at, None, None, reason)
        uow.readiness.add_probe(began)
    opened = case_id(provider, shop, began.at)
    if not uow.cases.keys([opened]):
        open_case(uow, CaseRecord(
            id=opened, shop=shop, kind="incident", queue=queue,
            title=f"{provider.capitalize()} refuses the credentials of {shop}: its actions wait",
            reason=f"{provider} answered at {began.at.isoformat()}: {began.error}. None of the shop's {provider} "
                   "actions is sent or failed meanwhile: they wait, and one is tried again every 30 s to 5 min; once "
                   "one goes (a new access token in its variable, the app installed again), the others follow",
            opened_at=at, source=SOURCE, priority="urgent",
            detail={"playbook": "credentials-refused", "provider": provider, "refused_since": began.at.isoformat(),
                    "error": began.error},
        ), hooks, at)
    return began.at


def hold_refused(uow: UnitOfWork, provider: str, shop: str, reason: str, at: datetime, *, queue: str,
                 hooks: CaseHooks) -> tuple[datetime, datetime]:
    """``record_refusal``, and every pending action of the shop for ``provider`` held until the next probe; returns
    since when the credentials are refused and until when the actions are held. The caller commits."""
    since = record_refusal(uow, provider, shop, reason, at, queue=queue, hooks=hooks)
    until = credentials_probe_at(since, at)
    uow.outbox.hold_shop(provider, shop, until)
    return since, until


def record_working(uow: UnitOfWork, provider: str, shop: str, at: datetime, hooks: CaseHooks) -> str | None:
    """The shop's credentials worked at ``at``: recorded if they were refused, the actions held meanwhile made due
    (their own retry waits kept) and the refusal's case settled; the settled case's id, or None. The caller commits."""
    began = refused_since(uow, provider, shop)
    if began is None:
        return None
    uow.readiness.add_probe(Probe(kind(provider), shop, WHAT, at, 200, None, ""))
    uow.outbox.release_shop(provider, shop, at)  # the actions held meanwhile go now, not at their probe time
    settled = case_id(provider, shop, began.at)
    if not uow.cases.keys([settled]):
        return None
    settle(uow, settled, f"{provider} accepted the credentials of {shop} again at {at.isoformat()}; the actions "
                         "that waited are being sent", at, hooks)
    return settled


class UninstallWatch:
    """The pipeline watcher for ``app/uninstalled``: the shop's Shopify credentials are refused from now on, with
    the reason, in the batch's transaction (the outbox need not find out by a refused call)."""

    def __init__(self, queue: str, hooks: CaseHooks) -> None:
        self._queue, self._hooks = queue, hooks

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent], _states: object, now: datetime) -> None:
        for event in events:
            if isinstance(event, AppUninstalled) and not _stale(uow, event, now):
                reason = (f"the app was uninstalled from {event.shop} at {event.occurred_at.isoformat()} "
                          "(app/uninstalled): its access token is revoked until it is installed again")
                record_refusal(uow, SHOPIFY, event.shop, reason, now, queue=self._queue, hooks=self._hooks)


def _stale(uow: UnitOfWork, event: AppUninstalled, now: datetime) -> bool:
    """Whether the uninstall was triggered (``occurred_at``: Shopify's ``X-Shopify-Triggered-At``) before the
    credentials last worked: a retry delivered after a reinstall. If so, the audit records it and why."""
    worked = last_worked(uow, SHOPIFY, event.shop)
    if worked is None or event.occurred_at >= worked[0]:
        return False
    after = {"provider": SHOPIFY, "triggered_at": event.occurred_at.isoformat(), "worked_at": worked[0].isoformat(),
             "evidence": worked[1]}
    uow.audit.record([AuditEntry(now, SOURCE, UNINSTALL_IGNORED, f"shop:{event.shop}", None, after)])
    log.info("app/uninstalled of %s triggered at %s ignored: its credentials worked at %s (%s)", event.shop,
             after["triggered_at"], after["worked_at"], worked[1], extra={"shop": event.shop, "provider": SHOPIFY})
    return True
