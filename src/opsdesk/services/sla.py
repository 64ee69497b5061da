"""SLA clocks on cases: started when a case opens, moved by its changes, turned into durable timers.

The clocks live in ``case.detail["sla"]`` as JSON (``{"policy": name, "clocks": {target: {...}}}``) so a
case carries its own SLA history; ``case.due_at`` is the earliest deadline still running. Every change
returns the timers to (re)schedule: the warnings and the breach of each clock not yet met, plus the next
escalation check of a clock already breached. Only checkpoints still ahead are scheduled, so a timer
that has fired is never armed again for the same moment.

A pause cancels nothing, on purpose: a breach reached just before the pause whose timer the sweep
has not fired yet must still fire (the case is still open, and late), and the cancel port cannot tell
that timer from the ones the pause made moot. The handlers re-check every checkpoint against the
clocks when it fires, so the moot ones do nothing. A first response cancels nothing either (the same
cancel would take the resolution's timers). Closing asks for every SLA timer of the case to be
cancelled; the case service cancels them at resolution already (nothing escalates a finished case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from opsdesk.domain.calendar import add_business_time
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org
from opsdesk.domain.records import Timer
from opsdesk.domain.sla import (
    CheckpointKind,
    ClockState,
    SlaClock,
    SlaPolicy,
    checkpoints,
    counted_time,
    deadline,
    escalation_level,
    get_target,
    meet,
    pause,
    resume,
)
from opsdesk.services.cases import SlaStart, SlaUpdate

SLA_WARNING = "sla_warning"
SLA_BREACH = "sla_breach"
SLA_KINDS = (SLA_WARNING, SLA_BREACH)
RESOLUTION = "resolution"
FIRST_RESPONSE = "first_response"
#: Why a case runs on the default SLA (``case.detail``), written on its timeline as it opens (ADR 0046).
SLA_NOTE = "sla_note"

Clocks = dict[str, SlaClock]


def make_sla_hooks(org: Org) -> tuple[SlaStart, SlaUpdate]:
    """The ``sla_start`` and ``sla_update`` hooks of the case service, on ``org``'s policies."""

    def sla_start(case: Case, now: datetime) -> tuple[Case, list[Timer]]:
        return start_clocks(org, case, now)

    def sla_update(before: Case, after: Case, now: datetime) -> tuple[Case, list[Timer], list[str]]:
        return update_clocks(org, before, after, now)

    return sla_start, sla_update


def start_clocks(org: Org, case: Case, now: datetime) -> tuple[Case, list[Timer]]:
    """One running clock per target of the case's policy; no policy, no clocks."""
    policy = org.sla_for(case.queue, case.priority)
    if policy is None:
        return case, []
    hard = hard_deadline(case)
    clocks = {target: SlaClock(now, hard_deadline=hard) for target in policy.targets}
    started = with_clocks(case, policy, clocks)
    if (why := org.unrouted(case.queue, case.priority)) is not None:  # on the default SLA: said on its timeline
        started = replace(started, detail={**started.detail, SLA_NOTE: why})
    return started, timers_for(case, policy, clocks, now)


def update_clocks(org: Org, before: Case, after: Case, now: datetime) -> tuple[Case, list[Timer], list[str]]:
    """Move the clocks for the change from ``before`` to ``after``; see the module docstring."""
    found = policy_of(org, after)
    if found is None:
        return after, [], []
    policy, clocks = found
    # The wall clock is not monotonic (NTP steps it back; another worker's runs a little ahead): a change "before"
    # a clock's last change counts at that change, rather than failing the change and its batch (ADR 0056).
    now = max([now, *(c.last_change for c in clocks.values())])
    if not after.status.active:
        met = {target: _met(clock, now) for target, clock in clocks.items()}
        cancel = list(SLA_KINDS) if after.status is CaseStatus.CLOSED else []
        return with_clocks(after, policy, met), [], cancel
    if not before.status.active and RESOLUTION in policy.targets:
        clocks = {**clocks, RESOLUTION: SlaClock(now, hard_deadline=hard_deadline(after))}
    if after.status.waiting and not before.status.waiting:
        clocks = {t: pause(c, now) if c.state is ClockState.RUNNING else c for t, c in clocks.items()}
    elif before.status.waiting and not after.status.waiting:
        clocks = {t: resume(c, now) if c.state is ClockState.PAUSED else c for t, c in clocks.items()}
    if after.first_response_at is not None and before.first_response_at is None and FIRST_RESPONSE in clocks:
        clocks[FIRST_RESPONSE] = _met(clocks[FIRST_RESPONSE], now)
    return with_clocks(after, policy, clocks), timers_for(after, policy, clocks, now), []


def policy_of(org: Org, case: Case) -> tuple[SlaPolicy, Clocks] | None:
    """The policy a case's clocks run on, and the clocks; ``None`` for a case without SLA clocks."""
    sla = case.detail.get("sla")
    if not isinstance(sla, Mapping):
        return None
    # The policy the clocks started on, even if the queue's mapping changed since.
    policy = org.sla_policies.get(str(sla.get("policy"))) or org.sla_for(case.queue, case.priority)
    if policy is None:
        return None
    return policy, {t: clock_from_json(c) for t, c in sla.get("clocks", {}).items() if t in policy.targets}


def with_clocks(case: Case, policy: SlaPolicy, clocks: Clocks) -> Case:
    """The case carrying ``clocks`` in its detail, due at the earliest deadline still running."""
    deadlines = {t: deadline(policy, t, c) if c.met_at is None else None for t, c in clocks.items()}
    sla = {
        "policy": policy.name,
        "clocks": {t: clock_to_json(c, deadlines[t]) for t, c in sorted(clocks.items())},
    }
    due = min((d for d in deadlines.values() if d is not None), default=None)
    return replace(case, detail={**case.detail, "sla": sla}, due_at=due)


def timers_for(case: Case, policy: SlaPolicy, clocks: Clocks, now: datetime) -> list[Timer]:
    """Timers for the checkpoints still ahead of every clock not yet met."""
    found: list[Timer] = []
    for target, clock in sorted(clocks.items()):
        if clock.met_at is not None:
            continue
        for point in checkpoints(policy, target, clock):
            if point.at > now:
                kind = SLA_BREACH if point.kind is CheckpointKind.BREACH else SLA_WARNING
                found.append(sla_timer(case.id, policy, target, kind, point.fraction, point.at))
        if (check := next_escalation_check(case.id, policy, target, clock, now)) is not None:
            found.append(check)
    return found


def next_escalation_check(
    case_id: str, policy: SlaPolicy, target: str, clock: SlaClock, now: datetime
) -> Timer | None:
    """For a breached, running clock: a breach timer at the moment the next rung of the ladder is due.

    Levels count whole targets of open time overdue, so level ``n + 1`` is due when the clock has run
    ``n + 1`` targets; while the clock runs, that moment is the open time still missing from ``now``.
    """
    level = escalation_level(policy, target, clock, now)
    if clock.state is not ClockState.RUNNING or level == 0 or level >= len(policy.ladder):
        return None
    missing = get_target(policy, target) * (level + 1) - counted_time(policy, clock, now)
    at = add_business_time(policy.calendar, now, missing)
    return sla_timer(case_id, policy, target, SLA_BREACH, float(level + 1), at)


def sla_timer(
    case_id: str, policy: SlaPolicy, target: str, kind: str, fraction: float, at: datetime
) -> Timer:
    return Timer(
        id=f"{case_id}:{target}:{kind}:{fraction}",
        kind=kind,
        subject=case_id,
        due_at=at,
        payload={"target": target, "fraction": fraction, "policy": policy.name},
    )


def hard_deadline(case: Case) -> datetime | None:
    """``detail["hard_deadline"]`` (e.g. a dispute's evidence-due date); a time without zone is UTC."""
    text = case.detail.get("hard_deadline")
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(f"case {case.id}: hard_deadline {text!r} is not an ISO date and time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def clock_to_json(clock: SlaClock, due: datetime | None = None) -> dict[str, Any]:
    """The clock as JSON; ``deadline`` is derived, written for readers and ignored when read back."""
    return {
        "started_at": clock.started_at.isoformat(),
        "pauses": [[start.isoformat(), end.isoformat()] for start, end in clock.pauses],
        "paused_since": _iso(clock.paused_since),
        "met_at": _iso(clock.met_at),
        "hard_deadline": _iso(clock.hard_deadline),
        "deadline": _iso(due),
    }


def typed_clocks(sla: Any) -> Any:
    """A case's ``detail["sla"]`` as read models answer it: each clock's times (``clock_to_json``'s) ``datetime``,
    the desk's own, so the API writes them in UTC ending Z (ADR 0059, amended in session 14); else as stored."""
    if not isinstance(sla, Mapping) or not isinstance(sla.get("clocks"), Mapping):
        return sla
    return {**sla, "clocks": {t: _typed_clock(c) for t, c in sla["clocks"].items()}}


def _typed_clock(clock: Any) -> Any:
    if not isinstance(clock, Mapping):
        return clock
    typed = {k: _moment(v) if k in _CLOCK_TIMES else v for k, v in clock.items()}
    if isinstance(pauses := clock.get("pauses"), list):
        typed["pauses"] = [[_moment(at) for at in p] if isinstance(p, list) else p for p in pauses]
    return typed


_CLOCK_TIMES = ("started_at", "paused_since", "met_at", "hard_deadline", "deadline")


def _moment(value: Any) -> Any:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value


def clock_from_json(data: Mapping[str, Any]) -> SlaClock:
    return SlaClock(
        started_at=datetime.fromisoformat(data["started_at"]),
        pauses=tuple((datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in data["pauses"]),
        paused_since=_dt(data.get("paused_since")),
        met_at=_dt(data.get("met_at")),
        hard_deadline=_dt(data.get("hard_deadline")),
    )


def _met(clock: SlaClock, now: datetime) -> SlaClock:
    return clock if clock.met_at is not None else meet(clock, now)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
