"""The incidents a scenario can inject: their parameters, and what counts as opsdesk catching each one.

What counts is data (``DETECTION``), not code: for each incident kind, the case kinds, queues and
playbooks whose records are a detection. A record counts when it is about an order the incident
affected and was written once the incident had harmed that order (or is a shop-level record, without an
order, written after the incident began);
the time to detect is the first such record's time minus the incident's start. Edit the table when a
playbook is renamed; the scorecard reports an incident no record matches as not caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsdesk.config import Settings


@dataclass(frozen=True, slots=True)
class IncidentKind:
    name: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Detection:
    """Which records of the desk count as catching an incident of one kind."""

    case_kinds: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    playbooks: frozenset[str] = frozenset()  # a decision (automated or escalated) by one of these
    #: a shop-level record (no order) counts too; else only records about an affected order count
    shop_level: bool = False
    #: names of incident-record readers (``opsdesk.simulator.signals.READERS``) whose records count
    readers: frozenset[str] = frozenset()
    #: providers whose calls, failing in the incident's window, harm the order they are about (the ground truth
    #: knows only what the store did; the desk's own calls to a service that is down are in its outbox)
    failed_calls_to: frozenset[str] = frozenset()
    #: how long the harm must last before the desk looks, by design (a setting of the desk's); an incident whose
    #: every order's harm ended sooner could not be caught, and is not reported as missed
    looks_after: Callable[[Settings], timedelta] | None = None


def _payment_pending(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.file.order_playbooks.payment_pending_minutes)


INCIDENT_KINDS: dict[str, IncidentKind] = {
    k.name: k
    for k in (
        IncidentKind(
            "discount_misconfigured",
            "a discount code goes live at far more than intended; a share of orders use it",
            {"code": "WELCOME10", "percent": 90.0, "intended_percent": 10.0, "uptake": 0.35},
        ),
        IncidentKind(
            "label_api_outage",
            "the carrier's label API answers 503; returns needing a label pile up",
            {"returns": 6},
        ),
        IncidentKind(
            "carrier_delay",
            "the carrier stalls: shipments in transit get a DELAYED scan and arrive days late",
            {"share": 0.6, "extra_days": 4.0},
        ),
        IncidentKind(
            "warehouse_backlog",
            "the warehouse stops shipping: orders paid in the window ship only well after it",
            {"extra_hours": 72.0},
        ),
        IncidentKind(
            "payment_gateway_stall",
            "the card gateway stops answering: card orders stay pending until it recovers",
            {"share": 1.0},
        ),
        IncidentKind(
            "overselling",
            "inventory sync lags: a best seller keeps selling past zero stock",
            {"share": 0.25, "stock": 4},
        ),
        IncidentKind(
            "fraud_false_positive",
            "a fraud filter cancels low-risk orders as fraud",
            {"share": 0.15},
        ),
    )
}

DETECTION: dict[str, Detection] = {
    "discount_misconfigured": Detection(
        case_kinds=frozenset({"discount"}),
        queues=frozenset({"pricing"}),
        playbooks=frozenset({"discount-guard"}),
        shop_level=True,
        readers=frozenset({"discount_incidents"}),
    ),
    "label_api_outage": Detection(
        case_kinds=frozenset({"return", "automation_failure", "incident"}),
        queues=frozenset({"returns", "carrier", "incidents"}),
        # not "return-labels": it decides to buy a label for every approved return, outage or not
        playbooks=frozenset({"carrier-downtime"}),
        shop_level=True,
        failed_calls_to=frozenset({"carrier"}),
    ),
    "carrier_delay": Detection(
        case_kinds=frozenset({"fulfilment", "stuck_order", "carrier"}),
        queues=frozenset({"fulfilment", "carrier", "incidents"}),
        # not "delayed-fulfilment": it follows up orders not yet shipped; these are shipped and in transit
        playbooks=frozenset({"carrier-delay", "carrier-delays"}),
    ),
    "warehouse_backlog": Detection(
        case_kinds=frozenset({"fulfilment", "stuck_order", "order"}),
        queues=frozenset({"fulfilment", "warehouse"}),
        playbooks=frozenset({"delayed-fulfilment", "stuck-order", "carrier-pickup-cutoff"}),
    ),
    "payment_gateway_stall": Detection(
        case_kinds=frozenset({"payment"}),
        queues=frozenset({"payments"}),
        playbooks=frozenset({"payments"}),
        looks_after=_payment_pending,
    ),
    "overselling": Detection(
        case_kinds=frozenset({"inventory"}),
        queues=frozenset({"inventory"}),
        playbooks=frozenset({"inventory"}),
        shop_level=True,
    ),
    "fraud_false_positive": Detection(
        case_kinds=frozenset({"order", "payment"}),
        queues=frozenset({"risk"}),
        playbooks=frozenset({"risk"}),
    ),
}
