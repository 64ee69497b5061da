"""Case use cases: open a case with an owner and an SLA, act on it, escalate it.

Each function works inside the caller's unit of work (the caller commits). A person's action on a case someone
else holds is refused first, naming the holder (``case_rights``, ADR 0039). Every state change is
saved against the version that was read, so of two people acting at once exactly one wins and the
other gets a ``Conflict`` naming whoever holds the case now. Each change writes one timeline entry
(through the repository) and one audit entry, asks the SLA hook to move the clocks, and schedules or
cancels the case's timers in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opsdesk.domain import case_transitions as transitions
from opsdesk.domain.case_rights import AUTOMATION, SYSTEM_ACTORS, ensure_may, takes
from opsdesk.domain.cases import Case, CaseChange, CaseStatus, Changed
from opsdesk.domain.errors import Conflict, InvalidInput
from opsdesk.domain.org import Org
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services.resolutions import record_resolution

OwnerFor = Callable[[UnitOfWork, Case, datetime], str]
SlaStart = Callable[[Case, datetime], tuple[Case, list[Timer]]]
SlaUpdate = Callable[[Case, Case, datetime], tuple[Case, list[Timer], list[str]]]
OnChanged = Callable[[UnitOfWork, Case, Case, CaseChange, datetime], None]
#: Tells the people concerned about a case (``tell(uow, case, message, now)``), e.g. through the notifier.
Tell = Callable[[UnitOfWork, Case, str, datetime], None]

#: What a person can do to a case, by the name the API and the CLI use.
ACTIONS = ("claim", "assign", "start", "wait", "resume", "comment", "resolve", "close", "reopen")


def team_owner(org: Org) -> OwnerFor:
    """The owner a case keeps, or else the team of its queue (who owns it until someone claims it)."""

    def owner_for(_uow: UnitOfWork, case: Case, _now: datetime) -> str:
        return case.owner or org.team(org.queue(case.queue).team).owner

    return owner_for


def _no_sla(case: Case, _now: datetime) -> tuple[Case, list[Timer]]:
    return case, []


def _sla_unchanged(_before: Case, after: Case, _now: datetime) -> tuple[Case, list[Timer], list[str]]:
    return after, [], []


def _nothing(_uow: UnitOfWork, _before: Case, _after: Case, _change: CaseChange, _now: datetime) -> None:
    return None


def _anyone(_owner: str) -> str | None:
    return None


def _nobody(_uow: UnitOfWork, _case: Case, _message: str, _now: datetime) -> None:
    return None


@dataclass(frozen=True)
class CaseHooks:
    """What the desk plugs into every case change: ownership rules, SLA clocks, notifications."""

    owner_for: OwnerFor = field(default_factory=lambda: team_owner(Org()))
    sla_start: SlaStart = _no_sla
    sla_update: SlaUpdate = _sla_unchanged
    on_changed: OnChanged = _nothing
    #: Tells a case's owner something the case's changes do not (``add_news``), in the SLA warnings' digests.
    tell: Tell = _nobody
    #: None when a case can be given to, or taken by, this owner: a person or team of the organisation; else who
    #: the organisation knows of that kind, to name in the refusal (``Org.unknown_owner``).
    unknown_owner: Callable[[str], str | None] = _anyone


def open_case(uow: UnitOfWork, record: CaseRecord, hooks: CaseHooks, now: datetime) -> Case:
    """Open a case with an owner and running SLA clocks, or add the signal to the open case it joins."""
    stored = uow.cases.open(record)
    case = uow.cases.get(stored.id)
    if case.id != record.id:
        news, title = _news(record)
        joined = transitions.joined(case, record.source, record.reason, now, news, title)
        return _commit(uow, case, joined, now, hooks)
    if case.version != 1 or case.owner is not None or not case.status.active:
        return case  # opened before (the same signal again): nothing changes
    changed = transitions.opened(case, hooks.owner_for(uow, case, now), now)
    started, timers = hooks.sla_start(changed.case, now)
    # Why the case runs on the desk's default SLA (its queue names none: ADR 0046), said where its people look.
    note = started.detail.get("sla_note")
    opening = replace(changed.change, note=note) if isinstance(note, str) else changed.change
    return _save(uow, case, Changed(started, opening), (timers, []), now, hooks)


def _news(record: CaseRecord) -> tuple[dict[str, Any] | None, str]:
    """What a signal that joins an open case brings to it: for a stock case, the level as it is now, named, and
    the title that says it (one case for an item at a location while it is open, not one per level)."""
    stock = record.detail.get("stock")
    return ({"stock": stock}, record.title) if isinstance(stock, dict) else (None, "")


def act(
    uow: UnitOfWork, case_id: str, action: str, actor: str, now: datetime, hooks: CaseHooks, *, lead: bool = False,
    **params: Any,
) -> Case:
    """Do ``action`` (one of ``ACTIONS``) to a case as ``actor``; resolving also records a decision.

    ``lead``: the actor is a lead in the case's shop, who may reassign a case someone else holds. ``Refused``,
    naming the holder, for the work on a case someone else holds (``case_rights``)."""
    before = uow.cases.get(case_id)
    ensure_may(before, action, actor, lead=lead)
    _ensure_known(before, action, actor, hooks, str(params.get("owner") or "") if action == "assign" else "")
    if action == "claim" and before.person == actor:
        return before  # claiming your own case again changes nothing
    changed = _transition(before, action, actor, now, params)
    if action == "resolve":
        changed = record_resolution(uow, before, changed, actor, now, params)
    return _commit(uow, before, changed, now, hooks, action)


def _ensure_known(case: Case, action: str, actor: str, hooks: CaseHooks, owner: str) -> None:
    """A case goes only to a person or team of the organisation (ADR 0045), and is taken only by a person of it
    (ADR 0047): one held by a name nobody is configured under (a typo, a token's or login's own name) would be
    told to no one and fall between the two. ``owner``: whom an ``assign`` gives the case to. The desk's own
    reassignments pick from the organisation already."""
    if actor in SYSTEM_ACTORS:
        return
    if owner and owner != actor and (known := hooks.unknown_owner(owner)) is not None:
        raise InvalidInput(
            f"no person or team {owner!r} on the desk: give a case to a person under people: or to "
            f"team:<name> of a team under teams: in opsdesk.yaml ({known})"
        )
    if takes(case, action, actor, owner) and (known := hooks.unknown_owner(actor)) is not None:
        raise InvalidInput(
            f"no person {actor!r} on the desk to {'take' if action == 'assign' else action} case {case.key}: a case "
            f"is taken only under a person under people: in opsdesk.yaml ({known}); a dashboard account acts as its "
            "--person, an API token as the person it is named after"
        )


def settle(uow: UnitOfWork, case_id: str, why: str, now: datetime, hooks: CaseHooks) -> bool:
    """The exception behind a case went away by itself (``why``: what happened to the order).

    A case nobody has started on (open or assigned) is resolved by ``automation`` as ``no_action``,
    saying why. One a person is working on is left to them (resolving it would take it out of their
    hands, and count as its first response) but marked moot once, on its timeline and in the audit log,
    so that its page says the order has moved on (and the desk's ``on_changed`` hook tells its owner).
    True when it was resolved."""
    case = uow.cases.get(case_id)
    if case.status in (CaseStatus.OPEN, CaseStatus.ASSIGNED):
        act(uow, case_id, "resolve", AUTOMATION, now, hooks, resolution="no_action", note=f"{why}; nothing left to do")
        return True
    if case.status.active and "moot" not in case.detail:
        _commit(uow, case, transitions.mooted(case, why, now), now, hooks)
    return False


def add_signal(
    uow: UnitOfWork, case_id: str, source: str, reason: str, now: datetime, hooks: CaseHooks,
    news: Mapping[str, Any] | None = None, title: str = "",
) -> bool:
    """News from ``source`` about the exception of an active case: on its timeline (``reason``), and merged into
    its detail (``news``), as a repeated signal joins it (``title``: the case's title as the news tells it, when it
    changes). False, and nothing written, for a case that has ended."""
    before = uow.cases.get(case_id)
    if not before.status.active:
        return False
    _commit(uow, before, transitions.joined(before, source, reason, now, news, title), now, hooks)
    return True


def add_news(
    uow: UnitOfWork, case_id: str, source: str, reason: str, now: datetime, hooks: CaseHooks,
    news: Mapping[str, Any] | None = None,
) -> bool:
    """News about an active case that its owner must hear (the customer answered, and not as hoped): a signal
    (``add_signal``), told to the owner (``hooks.tell``), and a case waiting on the customer back in progress,
    as the customer has moved. False, and nothing written or told, for a case that has ended."""
    if not add_signal(uow, case_id, source, reason, now, hooks, news):
        return False
    case = uow.cases.get(case_id)
    if case.status is CaseStatus.WAITING_CUSTOMER:
        case = act(uow, case_id, "resume", AUTOMATION, now, hooks, note="the customer answered")
    hooks.tell(uow, case, reason, now)
    return True


def escalate_case(
    uow: UnitOfWork, case_id: str, level: int, owner: str | None, now: datetime, note: str, hooks: CaseHooks
) -> Case:
    """Raise a case up the escalation ladder (never down), handing it to ``owner`` when there is one."""
    before = uow.cases.get(case_id)
    return _commit(uow, before, transitions.escalate(before, level, owner, now, note), now, hooks)


def _transition(case: Case, action: str, actor: str, now: datetime, params: Mapping[str, Any]) -> Changed:
    note = str(params.get("note") or "")
    match action:
        case "claim":
            return transitions.claim(case, actor, now)
        case "assign":
            return transitions.assign(case, _required(params, "owner", action), actor, now, note)
        case "start":
            return transitions.start(case, actor, now)
        case "wait":
            return transitions.wait(case, _required(params, "on", action), actor, now, note)
        case "resume":
            return transitions.resume(case, actor, now, note)
        case "comment":
            return transitions.respond(case, actor, now, note)
        case "resolve":
            return transitions.resolve(case, _required(params, "resolution", action), actor, now, note)
        case "close":
            return transitions.close(case, actor, now)
        case "reopen":
            return transitions.reopen(case, actor, now, note)
    raise InvalidInput(f"unknown case action {action!r} (one of: {', '.join(ACTIONS)})")


def _required(params: Mapping[str, Any], name: str, action: str) -> str:
    value = str(params.get(name) or "").strip()
    if not value:
        raise InvalidInput(f"{action} needs {name}")
    return value


def _commit(
    uow: UnitOfWork, before: Case, changed: Changed, now: datetime, hooks: CaseHooks, action: str = ""
) -> Case:
    """Move the SLA clocks for a transition, then save it with the version check."""
    case, timers, cancel = hooks.sla_update(before, changed.case, now)
    return _save(uow, before, Changed(case, changed.change), (timers, cancel), now, hooks, action)


def _save(
    uow: UnitOfWork,
    before: Case,
    changed: Changed,
    timers: tuple[list[Timer], list[str]],
    now: datetime,
    hooks: CaseHooks,
    action: str = "",
) -> Case:
    case = changed.case
    if not uow.cases.save(changed, expected_version=before.version):
        raise _lost(uow, before, action)
    _reschedule(uow, case, *timers)
    uow.cases.set_due(case.id, case.due_at if case.status.active else None)
    uow.audit.record([_audit(changed.change)])
    hooks.on_changed(uow, before, case, changed.change, now)
    return case


def _reschedule(uow: UnitOfWork, case: Case, timers: list[Timer], cancel: list[str]) -> None:
    if not case.status.active:
        uow.timers.cancel(case.id)  # nothing may fire for a case that is resolved or closed
    elif cancel:  # an empty list would cancel every timer of the case
        uow.timers.cancel(case.id, cancel)
    if timers:
        uow.timers.schedule(timers)


def _lost(uow: UnitOfWork, before: Case, action: str) -> Conflict:
    """The conflict for a save that lost the race, naming whoever holds the case now."""
    current = uow.cases.get(before.id)
    holder = current.person or current.owner
    if action == "claim" and current.person:
        return Conflict(f"case {current.key} is already claimed by {current.person}", holder=current.person)
    return Conflict(
        f"case {current.key} was changed by someone else first "
        f"(now {current.status.value}, owner {holder}); reload it",
        holder=holder,
    )


def _audit(change: CaseChange) -> AuditEntry:
    after = {**change.after, "note": change.note} if change.note else change.after
    return AuditEntry(
        change.at, change.actor, f"case.{change.kind}", f"case:{change.case_id}", change.before, after
    )
