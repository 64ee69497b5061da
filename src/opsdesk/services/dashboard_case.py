"""The dashboard's case page: the story of a case in one timeline, its order beside it, what can be done.

The timeline merges what the case service, the pipeline and the outbox recorded, nothing of its own:
the case's changes (opened, claimed, comments, waits, reassignments, escalations), the decisions taken on
its order (store events with the rule, playbook version and inputs), the actions those decisions sent
(refunds, messages) with their attempts, and the SLA warnings and breaches its clocks have passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from opsdesk.domain.action_order import waiting_for
from opsdesk.domain.case_rights import holder_besides, may, takes
from opsdesk.domain.cases import RESOLUTIONS, Case, CaseStatus
from opsdesk.domain.errors import NotFound
from opsdesk.domain.holds import HoldPurpose, case_holds, describe
from opsdesk.domain.org import Org
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services.case_views import case_view
from opsdesk.services.dashboard import first_warning, off_hours, sla_marks
from opsdesk.services.orders import action_view, order_view
from opsdesk.services.refund_left import order_state, refund_left, refused
from opsdesk.services.titles import with_order_name


@dataclass(frozen=True, slots=True)
class Resolution:
    name: str
    label: str
    effect: str  # what it does, said on the confirmation
    needs_amount: bool = False
    needs_discount: bool = False

    @property
    def irreversible(self) -> bool:
        return self.name != "no_action"


RESOLUTION_TEXT = {
    "approve_refund": Resolution(
        "approve_refund", "Approve refund", "refunds the amount through Shopify and emails the customer", True
    ),
    "deny": Resolution("deny", "Deny", "emails the customer that the request is declined"),
    "reship": Resolution("reship", "Reship", "tags the order for reshipment and notes who approved it"),
    # Which hold: ``resolution_for`` says it for the case (an address case's, a fraud review's).
    "release_hold": Resolution("release_hold", "Release hold", "releases the desk's hold in Shopify"),
    "pause_discount": Resolution(
        "pause_discount", "Pause discount", "deactivates the discount in Shopify", needs_discount=True
    ),
    "no_action": Resolution("no_action", "Resolve, no action", "closes the matter; nothing is sent"),
}
assert set(RESOLUTION_TEXT) == RESOLUTIONS

#: Which resolutions fit a case of each kind (``no_action`` fits every one).
FITTING = {
    "refund": ("approve_refund", "deny"),
    "return": ("approve_refund", "reship", "deny"),
    "dispute": ("approve_refund", "deny"),
    "fulfilment": ("release_hold", "reship"),
    # The order is held until the address is settled: fixed in Shopify, or shipped as it is. Nothing shipped
    # yet to reship, no request to deny; cancelling the order is Shopify's to do, not a resolution here.
    "address": ("release_hold",),
    "order": ("release_hold", "reship", "deny"),
    "inventory": ("release_hold",),
    "payment": ("release_hold", "deny"),
    "discount": ("pause_discount",),
    "automation_failure": (),
}
assert all(case_holds(kind) for kind, names in FITTING.items() if "release_hold" in names)
#: Resolutions that act on an order: offered only for a case linked to one.
ON_ORDER = frozenset({"approve_refund", "deny", "reship", "release_hold"})


def fitting_resolutions(case: Case) -> list[Resolution]:
    """The resolutions offered for a case: those of its kind that it can carry out, then ``no_action``."""
    if not case.status.active:
        return []
    names = [n for n in FITTING.get(case.kind, ()) if case.order_id is not None or n not in ON_ORDER]
    return [resolution_for(case, n) for n in [*names, "no_action"]]


def resolution_for(case: Case, name: str) -> Resolution:
    """The resolution as the case's page and its confirmation say it: a release names the hold it releases."""
    found = RESOLUTION_TEXT[name]
    if name != "release_hold":
        return found
    wanted = case_holds(case.kind)
    other = "an address hold" if HoldPurpose.RISK in wanted else "a fraud hold"
    return replace(found, effect=f"releases {describe(wanted)} in Shopify, and no other: {other}, "
                                 "or one placed by hand, stays")


def case_actions(case: Case, person: str) -> list[str]:
    """The buttons the case page offers ``person`` besides the resolutions and comments: those the server
    allows them (``case_rights``: on a case a colleague holds, its work is theirs; reopening hands it back to
    them, as it would for them; a lead reassigns it with the page's Assign form)."""
    status = case.status
    found = []
    # A case a person holds (assigned, in progress, waiting) is theirs: claiming it is a conflict, so only one
    # that no person holds (new, or handed back to its team) is offered, to anyone, as the claim rule allows.
    if status.active and case.person is None:
        found.append("claim")
    if status in {CaseStatus.OPEN, CaseStatus.ASSIGNED}:
        found.append("start")
    if status in {CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS}:
        found.append("wait")
    if status.waiting:
        found.append("resume")
    if status is CaseStatus.RESOLVED:
        found.append("close")
    if not status.active:
        found.append("reopen")
    return [action for action in found if may(case, action, person)]


def case_page(uow: UnitOfWork, org: Org, case_id: str, person: str, now: datetime) -> dict[str, Any]:
    """Everything the case page shows."""
    view = case_view(uow, case_id)
    case = uow.cases.get(case_id)
    order = _order(uow, case)
    actions = uow.outbox.for_order(case.shop, case.order_id) if case.order_id is not None else []
    name = str(order["state"].get("name") or "") if order is not None else ""
    return {
        "case": {**view["case"], "title": with_order_name(case.title, case.order_id, name)},
        "detail": view["detail"],
        "moot": case.detail.get("moot"),  # the order moved on while someone works the case (cases.settle)
        "sla": _clocks(view["sla"]),
        "warn_at": first_warning(org, case),
        "off_hours": off_hours(org, case, now),
        "order": order,
        "customer": _customer(order, view["decisions"]),
        "timeline": timeline(view, actions, sla_marks(org, case, now)),
        "resolutions": fitting_resolutions(case) if may(case, "resolve", person) else [],
        # One who is no person of the organisation is offered nothing that would make the case theirs (ADR 0047).
        "actions": [a for a in case_actions(case, person) if org.knows_owner(person) or not takes(case, a, person)],
        "mine": case.person == person,
        "held_by": holder_besides(case, person),
        **_refund(uow, case, view["decisions"]),
    }


def timeline(
    view: dict[str, Any], actions: Sequence[OutboxAction], marks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every entry about the case, oldest first."""
    entries = [{"type": "change", "at": c["at"], **c} for c in view["timeline"]]
    # Decisions taken in one batch share a time; the store events' own times keep them in story order.
    entries += [{"type": "decision", "at": d["decided_at"], "then": _occurred(d), **d} for d in view["decisions"]]
    # Each as the order page shows it: a pending one says which earlier one of its decision it waits for.
    waits = waiting_for(actions)
    entries += [
        {"type": "action", "at": a.created_at, "decision_id": a.decision_id, **action_view(a, waits)}
        for a in actions
    ]
    entries += [{"type": "sla", **m} for m in marks]
    order = {"decision": 0, "change": 1, "action": 2, "sla": 3}
    return sorted(entries, key=lambda e: (e["at"], order[e["type"]], e.get("then", "")))


def _occurred(decision: dict[str, Any]) -> str:
    event = decision["inputs"].get("event")
    return str(event.get("occurred_at", "")) if isinstance(event, dict) else ""


def _order(uow: UnitOfWork, case: Case) -> dict[str, Any] | None:
    if case.order_id is None:
        return None
    try:
        return order_view(uow, case.order_id, case.shop)
    except NotFound:
        return None  # the case came before the order was stored (or the order was erased)


def _customer(order: dict[str, Any] | None, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """The customer as the order and the decisions' facts know them."""
    facts = next((d["inputs"].get("customer") for d in reversed(decisions) if d["inputs"].get("customer")), None)
    found: dict[str, Any] = dict(facts) if isinstance(facts, dict) else {}
    if order is not None and order["state"].get("email"):
        found.setdefault("email", order["state"]["email"])
    return found


def _refund(uow: UnitOfWork, case: Case, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """The amount an approval offers, at most what is left to refund now, and why nothing is (``nothing_left``).
    A request whose amount is not known offers none: the order's remainder is a cap, not what the return is worth."""
    amount = _amount(case, decisions)
    if not case.status.active or case.order_id is None:
        return {"amount": amount, "nothing_left": ""}
    left = refund_left(order_state(uow, case), case, _source(case, decisions))
    if left.amount is not None and left.amount > 0 and amount and _more(amount, left.amount):
        amount = str(left.amount)
    return {"amount": amount, "nothing_left": refused(left, None)}


def _more(amount: str, than: Decimal) -> bool:
    try:
        return Decimal(amount) > than
    except InvalidOperation:
        return False


def _source(case: Case, decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """The event facts of the decision that opened the case, if one did."""
    source = case.source.removeprefix("decision:")
    for d in decisions:
        event = d["inputs"].get("event") if d["id"] == source else None
        if isinstance(event, dict):
            return event
    return {}


def _amount(case: Case, decisions: list[dict[str, Any]]) -> str:
    """The amount a refund would take by default: the case's, else the event's that opened it."""
    if case.detail.get("amount"):
        return str(case.detail["amount"])
    return str(_source(case, decisions).get("amount") or "")


def _clocks(sla: Any) -> list[dict[str, Any]]:
    if not isinstance(sla, dict):
        return []
    return [{"target": target, **clock} for target, clock in sorted((sla.get("clocks") or {}).items())]
