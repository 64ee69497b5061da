"""Read models for cases: the queue, one case with its SLA, timeline and every decision on its order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from opsdesk.domain.cases import Case, CaseChange, CaseStatus, describe
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org
from opsdesk.domain.policies import Playbook
from opsdesk.domain.queue_cursor import decode_cursor, encode_cursor, queue_mark
from opsdesk.domain.records import CaseFilter, DecisionRecord
from opsdesk.ports import UnitOfWork
from opsdesk.services.effects import QUEUE_KINDS
from opsdesk.services.sla import typed_clocks

#: The kinds of case the desk opens (the playbooks' by queue, the monitors', automation failures).
CASE_KINDS = frozenset({*QUEUE_KINDS.values(), "order", "stuck_order", "address", "incident", "return"})
EVERY_STATUS = tuple(s.value for s in CaseStatus)


def refuse_unknown(uow: UnitOfWork, where: CaseFilter, org: Org, playbooks: Sequence[Playbook]) -> None:
    """``InvalidInput`` listing the known values for a status, queue or kind nothing is known by: a typo would
    read as an empty queue ("nothing to do"). A queue the organisation or a playbook names, a kind the desk
    opens, or one any stored case has, is known, with cases or without."""
    if unknown := [s for s in where.status if s not in EVERY_STATUS]:
        raise InvalidInput(f"unknown status {unknown[0]!r} (known: {', '.join(EVERY_STATUS)})")
    queues = {*org.queues, *QUEUE_KINDS, *(e.queue for p in playbooks for e in _escalations(p))}
    for field, value, known in (("queue", where.queue, queues), ("kind", where.kind, CASE_KINDS)):
        having = CaseFilter(queue=value, status=EVERY_STATUS) if field == "queue" else CaseFilter(
            kind=value, status=EVERY_STATUS)
        if value and value not in known and not uow.cases.search(replace(having, active_only=False), 1):
            raise InvalidInput(f"unknown {field} {value!r}: none is configured and no case has it "
                               f"(known: {', '.join(sorted(known))})")


def _escalations(playbook: Playbook) -> list[Any]:
    cases = [playbook.default_escalation, *(r.escalation for r in playbook.rules), *(r.case for r in playbook.rules)]
    return [c for c in cases if c is not None]


def case_summary(case: Case) -> dict[str, Any]:
    """A case as the queue shows it (JSON-ready apart from datetimes): its key first, what people type."""
    return {
        "key": case.key,
        "id": case.id,
        "shop": case.shop,
        "kind": case.kind,
        "queue": case.queue,
        "title": case.title,
        "reason": case.reason,
        "status": case.status.value,
        "status_text": describe(case.status),
        "owner": case.owner,
        "priority": case.priority,
        "order_id": case.order_id,
        "source": case.source,
        "version": case.version,
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
        "due_at": case.due_at,
        "first_response_at": case.first_response_at,
        "resolved_at": case.resolved_at,
        "resolution": case.resolution,
        "escalation_level": case.escalation_level,
    }


def case_list(
    uow: UnitOfWork, where: CaseFilter, limit: int, offset: int = 0, cursor: str | None = None
) -> dict[str, Any]:
    """One page of the queue (what is due first first; ended cases the latest first), with the total that matches
    and the cursor of the next page (``None`` on the last). A page after ``cursor`` has no offset (ADR 0059)."""
    page, following = queue_slice(uow, where, limit, offset, cursor)
    return {
        "total": uow.cases.count(where),
        "limit": limit,
        "offset": None if cursor is not None else offset,
        "next": following,
        "cases": [case_summary(c) for c in page],
    }


def queue_slice(
    uow: UnitOfWork, where: CaseFilter, limit: int, offset: int = 0, cursor: str | None = None,
    window: str | None = None,
) -> tuple[list[Case], str | None]:
    """One page of the queue after ``cursor`` (or ``offset``), and the cursor of the page after it (``None`` on the
    last: one row more than ``limit`` is read to know). The API's pages and the dashboard's queue (ADR 0059);
    ``InvalidInput`` for a cursor made for other filters (``window``: see ``encode_cursor``) or garbled."""
    if cursor is not None and offset:
        raise InvalidInput("query parameters 'cursor' and 'offset' go one without the other: a cursor says where "
                           "its page starts")
    after = decode_cursor(cursor, where, window) if cursor is not None else None
    found = uow.cases.search(where, limit + 1, offset, after)
    page = found[:limit]
    return page, encode_cursor(queue_mark(page[-1]), where, window) if len(found) > limit else None


def case_view(uow: UnitOfWork, case_id: str) -> dict[str, Any]:
    """Everything about one case: its SLA clocks, its timeline and the decisions taken on its order."""
    case = uow.cases.get(case_id)
    decisions = uow.decisions.for_order(case.shop, case.order_id) if case.order_id is not None else []
    source = case.source.removeprefix("decision:")
    sla = typed_clocks(case.detail.get("sla"))  # the desk's times, typed; the rest of the detail as stored
    return {
        "case": case_summary(case),
        "detail": {**case.detail, "sla": sla} if "sla" in case.detail else case.detail,
        "sla": sla,
        "timeline": [_change(c) for c in uow.cases.timeline(case.id)],
        "decisions": [_decision(d, opened_case=d.id == source) for d in decisions],
    }


def _change(change: CaseChange) -> dict[str, Any]:
    return {
        "at": change.at,
        "actor": change.actor,
        "kind": change.kind,
        "before": change.before,
        "after": change.after,
        "note": change.note,
    }


def _decision(d: DecisionRecord, *, opened_case: bool) -> dict[str, Any]:
    return {
        "id": d.id,
        "event": d.event_name,
        "playbook": d.playbook,
        "rule": d.rule_id,
        "policy_version": d.policy_version,
        "outcome": d.outcome,
        "explanation": d.reason,
        "inputs": d.inputs,
        "decided_at": d.decided_at,
        "opened_this_case": opened_case,
    }
