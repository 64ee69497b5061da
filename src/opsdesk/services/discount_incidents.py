"""Discount incidents: their ids (one per discount and episode) and how they are read back.

An incident is keyed by what orders call its discount (the title, or the code), so an order that names a
discount before its webhook arrives joins the same incident. It ends when its case is resolved or closed.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.domain.discounts import DiscountIncident, DiscountRecord
from opsdesk.domain.errors import NotFound
from opsdesk.domain.ids import KEY_LENGTH, fit_id
from opsdesk.domain.outbox import ActionStatus
from opsdesk.ports import UnitOfWork


def short_id(prefix: str, *parts: str) -> str:
    return f"{prefix}-" + hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def code_subject(code: str) -> str:
    """The rate windows' subject of the orders that redeemed ``code`` (a code may be 255 characters: fitted)."""
    return fit_id(f"code:{code.upper()}", length=KEY_LENGTH)


def code_audit_subject(code: str) -> str:
    """The audit subject of a discount known only by a code it is redeemed with (fitted likewise)."""
    return fit_id(f"discount-code:{code}", length=KEY_LENGTH)


def current_incident(uow: UnitOfWork, base: str) -> tuple[str, DiscountIncident | None]:
    """The id and record of a subject's current incident (none yet: the id a new one takes).

    Once an incident's case is resolved or closed, the incident is over: a discount that goes wrong
    again opens a new incident (``<base>-1``, ``<base>-2``, ...), with its own pause and case.
    """
    iid = base
    for episode in range(1, 10_000):
        found = uow.discounts.find_incident(iid)
        if found is None or not _over(uow, found):
            return iid, found
        iid = f"{base}-{episode}"
    return iid, None


def counted_before(uow: UnitOfWork, base: str, order_id: int) -> bool:
    """Whether an incident of the subject that is over already counted this order.

    An order keeps its discount through its later updates (paid, shipped, edited): counted once, it must
    not open the subject's next incident, pause the discount again and count its money twice.
    """
    iid = base
    for episode in range(1, 10_000):
        found = uow.discounts.find_incident(iid)
        if found is None or not _over(uow, found):
            return False
        if order_id in found.bad_orders:
            return True
        iid = f"{base}-{episode}"
    return False


def open_incidents(uow: UnitOfWork, shop: str) -> list[DiscountIncident]:
    """The shop's incidents that are not over: their case is open, or they have none yet."""
    return [i for i in uow.discounts.incidents(shop) if not _over(uow, i)]


def _over(uow: UnitOfWork, incident: DiscountIncident) -> bool:
    if incident.case_id is None:
        return False
    try:
        return not uow.cases.get(incident.case_id).status.active
    except NotFound:
        return False


def incident_key(record: DiscountRecord) -> str:
    """What orders name a discount by: its first code for a code discount (once known), else its title."""
    codes = record.terms.codes if record.terms else ()
    return (codes[0] if codes else record.title).strip().casefold()


def list_incidents(uow: UnitOfWork, shop: str | None = None) -> list[DiscountIncident]:
    """Every discount incident (of a shop), with the time Shopify confirmed the pause, if it has."""
    return [replace(i, paused_at=_paused_at(uow, i.pause_action_id)) for i in uow.discounts.incidents(shop)]


def _paused_at(uow: UnitOfWork, action: str | None) -> datetime | None:
    if action is None:
        return None
    try:
        sent = uow.outbox.get(action)
    except NotFound:
        return None
    if sent.status is not ActionStatus.SENT:
        return None
    return next((datetime.fromisoformat(h["at"]) for h in sent.history if h.get("outcome") == "sent"), None)


def incident_summaries(uow: UnitOfWork, shop: str | None = None) -> list[dict[str, Any]]:
    """``list_incidents`` as plain JSON, each naming its case by its key too (read for them all at once)."""
    incidents = list_incidents(uow, shop)
    keys = uow.cases.keys(i.case_id for i in incidents if i.case_id is not None)
    return [incident_summary(i, keys.get(i.case_id) if i.case_id else None) for i in incidents]


def incident_summary(incident: DiscountIncident, case_key: str | None = None) -> dict[str, Any]:
    """An incident as plain JSON (the scorecard, the dashboard, the API); ``case_key`` names its case
    (``C-1042``, ADR 0029) for people, beside the id."""
    pause = incident.time_to_pause
    return {
        "id": incident.id,
        "shop": incident.shop,
        "discount_id": incident.discount_gid,
        "title": incident.title,
        "kind": incident.kind,
        "detected_at": incident.detected_at,  # times typed: the CLI's JSON writes them in UTC ending Z (ADR 0059)
        "first_bad_order_at": incident.first_bad_order_at,
        "paused_at": incident.paused_at,
        "seconds_to_pause": pause.total_seconds() if pause is not None else None,
        "money_at_risk": str(incident.money_at_risk),
        "below_cost": str(incident.below_cost),
        "currency": incident.currency,
        "bad_orders": list(incident.bad_orders),
        "violations": list(incident.violations),
        "case_id": incident.case_id,
        "case_key": case_key,
    }
