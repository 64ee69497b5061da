"""The case's transitions.

Transitions are pure: each takes the case, who acts and when, and returns the new case with the
change it made (for the timeline and the audit log), or raises ``InvalidInput`` for a move the state
does not allow. Claiming is guarded by the case's version: the repository writes a change only if the
version it read is still current, so of two concurrent claims exactly one wins.

    open ──claim/assign──► assigned ──start──► in progress ──resolve──► resolved ──close──► closed
      │                        │                    │   ▲                   │                 │
      └────────────── wait (customer | supplier) ───┘   └── resume          └──── reopen ◄────┘
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from opsdesk.domain.cases import MAX_SIGNALS, RESOLUTIONS, Case, CaseChange, CaseStatus, Changed
from opsdesk.domain.errors import Conflict, InvalidInput


def _change(case: Case, actor: str, at: datetime, kind: str, note: str = "", **values: Any) -> Changed:
    before = {k: _plain(getattr(case, k)) for k in values}
    new = replace(case, version=case.version + 1, updated_at=at, **values)
    after = {k: _plain(getattr(new, k)) for k in values}
    return Changed(new, CaseChange(case.id, at, actor, kind, before, after, note))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _require(case: Case, allowed: set[CaseStatus], action: str) -> None:
    if case.status not in allowed:
        raise InvalidInput(f"cannot {action} case {case.key}: it is {case.status.value}")


def opened(case: Case, owner: str, at: datetime) -> Changed:
    """A new case gets its first owner (a person or a team) as it opens."""
    changed = assign(case, owner, "automation", at)
    return Changed(changed.case, replace(changed.change, kind="opened", before={}))


def joined(
    case: Case, source: str, reason: str, at: datetime, news: Mapping[str, Any] | None = None, title: str = ""
) -> Changed:
    """A repeated signal for what an open case stands for (``join_key``) adds to it instead of opening another.

    ``news``: what the signal changes in the case's detail (the address its monitor last checked, say);
    ``title``: the case's title as the signal tells it now (a stock level that fell further), when it changes."""
    signal = {"source": source, "reason": reason, "at": at.isoformat()}
    signals = [*case.detail.get("signals", []), signal][-MAX_SIGNALS:]
    changed = _change(case, "automation", at, "signal", reason)
    new = replace(changed.case, detail={**case.detail, **(news or {}), "signals": signals})
    before: dict[str, Any] = dict(changed.change.before)
    after: dict[str, Any] = {"source": source}
    if title and title != case.title:
        new = replace(new, title=title)
        before["title"], after["title"] = case.title, title
    return Changed(new, replace(changed.change, before=before, after=after))


def mooted(case: Case, why: str, at: datetime) -> Changed:
    """What the case was opened for ended by itself (``why``: "the order shipped") while a person works on
    it: the case stays theirs to resolve (only they know whether something is left, a message to the
    customer, a reship), marked in ``detail["moot"]`` so that nobody chases what is already done."""
    note = f"{why}: what this case was opened for has ended; resolve it unless something is left to do"
    changed = _change(case, "automation", at, "moot", note)
    new = replace(changed.case, detail={**case.detail, "moot": {"why": why, "at": at.isoformat()}})
    return Changed(new, replace(changed.change, after={"moot": why}))


def claim(case: Case, person: str, at: datetime) -> Changed:
    """A person takes an unowned (or team-owned) case; someone else's case is a conflict naming them.

    A case in progress is claimable once it is back with its team (the return timer or a lead handed it
    back): it stays in progress, its clocks running as they were."""
    if case.person is not None and case.person != person:
        raise Conflict(f"case {case.key} is already claimed by {case.person}", holder=case.person)
    _require(case, _ACTIVE, "claim")
    status = CaseStatus.ASSIGNED if case.status is CaseStatus.OPEN else case.status
    return _change(case, person, at, "claimed", owner=person, status=status)


def assign(case: Case, owner: str, by: str, at: datetime, note: str = "") -> Changed:
    """Give a case to a person or a team (``team:<name>``), e.g. by a lead or the return timer."""
    _require(case, _ACTIVE, "assign")
    status = (
        CaseStatus.ASSIGNED
        if case.status is CaseStatus.OPEN and not owner.startswith("team:")
        else case.status
    )
    return _change(case, by, at, "assigned", note, owner=owner, status=status)


def start(case: Case, by: str, at: datetime) -> Changed:
    _require(case, {CaseStatus.OPEN, CaseStatus.ASSIGNED}, "start")
    return _change(case, by, at, "started", status=CaseStatus.IN_PROGRESS, owner=case.person or by)


def wait(case: Case, on: str, by: str, at: datetime, note: str = "") -> Changed:
    """Wait on the customer or a supplier: the SLA clocks pause until the case resumes."""
    status = {"customer": CaseStatus.WAITING_CUSTOMER, "supplier": CaseStatus.WAITING_SUPPLIER}.get(on)
    if status is None:
        raise InvalidInput(f"a case waits on 'customer' or 'supplier', not {on!r}")
    _require(case, {CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS}, "put on hold")
    return _change(case, by, at, "waiting", note, status=status)


def resume(case: Case, by: str, at: datetime, note: str = "") -> Changed:
    _require(case, _WAITING, "resume")
    return _change(case, by, at, "resumed", note, status=CaseStatus.IN_PROGRESS)


def respond(case: Case, by: str, at: datetime, note: str) -> Changed:
    """A comment; the first one by a person counts as the first response."""
    if not note.strip():
        raise InvalidInput("a comment needs text")
    first = case.first_response_at or (at if by != "automation" else None)
    return _change(case, by, at, "comment", note, first_response_at=first)


def resolve(case: Case, resolution: str, by: str, at: datetime, note: str = "") -> Changed:
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"unknown resolution {resolution!r} (one of: {', '.join(sorted(RESOLUTIONS))})")
    _require(case, _ACTIVE, "resolve")
    return _change(
        case,
        by,
        at,
        "resolved",
        note,
        status=CaseStatus.RESOLVED,
        resolution=resolution,
        resolved_at=at,
        first_response_at=case.first_response_at or at,
    )


def close(case: Case, by: str, at: datetime) -> Changed:
    _require(case, {CaseStatus.RESOLVED}, "close")
    return _change(case, by, at, "closed", status=CaseStatus.CLOSED)


def reopen(case: Case, by: str, at: datetime, note: str = "") -> Changed:
    _require(case, {CaseStatus.RESOLVED, CaseStatus.CLOSED}, "reopen")
    status = CaseStatus.ASSIGNED if case.person else CaseStatus.OPEN
    return _change(case, by, at, "reopened", note, status=status, resolution=None, resolved_at=None)


def escalate(case: Case, level: int, owner: str | None, at: datetime, note: str) -> Changed:
    """Raise the escalation level (never lowers it) and hand the case up the ladder when there is someone."""
    if level <= case.escalation_level:
        raise InvalidInput(f"case {case.id} is already at escalation level {case.escalation_level}")
    return _change(
        case, "automation", at, "escalated", note, escalation_level=level, owner=owner or case.owner
    )


_ACTIVE = {s for s in CaseStatus if s.active}
_WAITING = {s for s in CaseStatus if s.waiting}
