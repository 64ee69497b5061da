"""A decision's actions in their order (ADR 0042): what becomes of the later ones when an earlier one fails.

Each action of a decision has its place (``OutboxAction.position``); the outbox sends one only once no earlier
action of its decision is pending. When one fails for good, the later ones still pending fail with it, without
an attempt, in the same transaction; the failure's one case names them (the automation case, or the case the
failed action's outcome hook opened for it when the hook took charge).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import CaseRecord, OutboxAction


def cancel_reason(failed: OutboxAction, failure: str) -> str:
    """Why a later action was not sent (``failure``: why ``failed`` failed); actions are counted from 1."""
    return f"not sent: action {failed.position + 1} of this decision ({failed.kind}) failed: {failure}"


def cancelled(action: OutboxAction, reason: str, at: datetime) -> OutboxAction:
    """A later action failed without an attempt: its status, reason, and its history saying so."""
    entry = {"at": at.isoformat(), "attempt": action.attempts, "outcome": "cancelled", "error": reason}
    return replace(action, status=ActionStatus.FAILED, last_error=reason, history=(*action.history, entry))


def naming_cancelled(case: CaseRecord, later: Sequence[OutboxAction]) -> CaseRecord:
    """The failure's case, naming the later actions of its decision that will not be sent because of it."""
    if not later:
        return case
    return replace(
        case,
        reason=f"{case.reason}; not sent after it: {_names(later)}",
        detail={**case.detail, "cancelled": _listed(later)},
    )


def cancelled_news(
    failed: OutboxAction, failure: str, later: Sequence[OutboxAction], detail: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """What the case an outcome hook opened for a failure (its own, not the automation case) is told of the later
    actions not sent because of it: a timeline note ending as the automation case's reason does, and its detail's
    ``cancelled`` (``detail``: the case's, whose earlier ``cancelled`` are kept)."""
    note = f"{failed.kind} failed: {failure}; not sent after it: {_names(later)}"
    return note, {"cancelled": [*detail.get("cancelled", []), *_listed(later)]}


def waiting_for(actions: Iterable[OutboxAction]) -> dict[str, OutboxAction]:
    """For each pending action that waits (an earlier one of its decision is pending), the first it waits for;
    ``actions`` holds its decision's (an order's actions hold its decisions')."""
    pending = [action for action in actions if action.status is ActionStatus.PENDING]
    first: dict[str, OutboxAction] = {}
    for action in sorted(pending, key=lambda a: (a.position, a.id), reverse=True):
        first[action.decision_id] = action
    return {a.id: first[a.decision_id] for a in pending if a.position > first[a.decision_id].position}


def _names(later: Sequence[OutboxAction]) -> str:
    return ", ".join(_name(action) for action in later)


def _listed(later: Sequence[OutboxAction]) -> list[dict[str, Any]]:
    return [{"action": a.id, "kind": a.kind, "position": a.position} for a in later]


def _name(action: OutboxAction) -> str:
    """``email (refund_confirmation)``: an email by its template, another action by its kind."""
    template = action.payload.get("template")
    return f"{action.kind} ({template})" if action.kind == "email" and template else action.kind
