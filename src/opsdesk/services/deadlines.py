"""What happens when a deadline comes: SLA warnings, breaches and escalation, dead-man checks on automation.

Each handler runs inside the timer sweep's transaction (``handler(uow, timer, now)``), so its effects
commit with the timer's ``fired`` mark or not at all. SLA handlers re-check the checkpoint against the
case's clocks as they stand now: a timer the clocks have since made moot (a pause, a first response,
a resolution) does nothing, and one whose checkpoint was reached before the change still counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsdesk.domain.cases import Case
from opsdesk.domain.errors import InvalidInput, NotFound
from opsdesk.domain.ids import LONG_ID_LENGTH, fit_id
from opsdesk.domain.org import Org
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import AuditEntry, CaseRecord, Timer
from opsdesk.domain.sla import (
    Checkpoint,
    CheckpointKind,
    SlaClock,
    SlaPolicy,
    checkpoints,
    escalation_level,
    escalation_role,
)
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, Tell, escalate_case, open_case
from opsdesk.services.sla import SLA_BREACH, SLA_WARNING, next_escalation_check, policy_of

DEADMAN = "deadman"
#: What a dead-man timer checks has happened by its deadline.
EXPECTATIONS = frozenset({"action_sent", "case_resolved"})

Handler = Callable[[UnitOfWork, Timer, datetime], None]


def make_timer_handlers(
    org: Org, hooks_provider: Callable[[], CaseHooks], *, tell: Tell | None = None
) -> dict[str, Handler]:
    """The handlers of the ``sla_warning``, ``sla_breach`` and ``deadman`` timer kinds.

    ``hooks_provider`` gives the case service's hooks when a handler runs (they are built after the
    handlers, from the same organisation); ``tell`` is called for every warning and breach.
    """
    deadlines = Deadlines(org, hooks_provider, tell)
    return {SLA_WARNING: deadlines.warning, SLA_BREACH: deadlines.breach, DEADMAN: deadlines.deadman}


@dataclass(frozen=True, slots=True)
class Deadlines:
    org: Org
    hooks_provider: Callable[[], CaseHooks]
    tell: Tell | None = None

    def warning(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """Record a reached warning on an active case and tell its people; a moot one does nothing."""
        found = _clock_of(self.org, uow, timer)
        if found is None or not found[0].status.active:
            return
        case, policy, target, clock = found
        fraction = float(timer.payload["fraction"])
        if reached(policy, target, clock, CheckpointKind.WARNING, fraction, now) is None:
            return
        message = f"SLA warning: {fraction * 100:g} % of {target} used"
        _audit(uow, case, "sla.warning", now, {"target": target, "fraction": fraction, "message": message})
        self._tell(uow, case, message, now)

    def breach(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """Record a reached breach (fraction 1) and climb the ladder; fractions above 1 are escalation checks."""
        found = _clock_of(self.org, uow, timer)
        if found is None:
            return
        case, policy, target, clock = found
        if float(timer.payload["fraction"]) == 1.0:
            point = reached(policy, target, clock, CheckpointKind.BREACH, 1.0, now)
            if point is None:
                return
            # A case resolved after its breach still records it; only active cases are escalated.
            _audit(uow, case, "sla.breached", now, {"target": target, "deadline": point.at.isoformat()})
            if case.status.active:
                self._tell(uow, case, f"SLA breached: {target} was due {point.at.isoformat()}", now)
        if case.status.active:
            self._escalate(uow, case, policy, target, clock, now)
            if (check := next_escalation_check(case.id, policy, target, clock, now)) is not None:
                uow.timers.schedule([check])

    def deadman(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """Open an ``automation_failure`` case when what the timer expects has not happened by now."""
        if not _happened(uow, timer):
            open_case(uow, deadman_case(timer, now), self.hooks_provider(), now)

    def _escalate(
        self, uow: UnitOfWork, case: Case, policy: SlaPolicy, target: str, clock: SlaClock, now: datetime
    ) -> None:
        level = escalation_level(policy, target, clock, now)
        if level <= case.escalation_level:
            return  # another target, or an earlier firing, has taken the case this far already
        role = escalation_role(policy, level)
        owner = ladder_owner(self.org, case, role)
        note = f"SLA {target} overdue: escalation level {level} ({role})"
        escalate_case(uow, case.id, level, owner, now, note, self.hooks_provider())

    def _tell(self, uow: UnitOfWork, case: Case, message: str, now: datetime) -> None:
        if self.tell is not None:
            self.tell(uow, case, message, now)


def reached(
    policy: SlaPolicy, target: str, clock: SlaClock, kind: CheckpointKind, fraction: float, now: datetime
) -> Checkpoint | None:
    """The checkpoint, if the clock had reached it by ``now`` (or by when the target was met)."""
    stop = now if clock.met_at is None else min(now, clock.met_at)
    for point in checkpoints(policy, target, clock):
        if point.kind is kind and point.fraction == fraction and point.at <= stop:
            return point
    return None


def ladder_owner(org: Org, case: Case, role: str | None) -> str | None:
    """Who a rung hands the case to: the queue team's lead or manager, a named person, or nobody (it stays)."""
    team = org.team(org.queue(case.queue).team)
    if role == "team_lead":
        return team.lead
    if role == "manager":
        return team.manager
    return role if role in org.people else None


def deadman_timer(
    check: str,
    due_at: datetime,
    *,
    expect: str,
    shop: str,
    subject: str,
    order_id: int | None = None,
    action_id: str | None = None,
    owner: str | None = None,
) -> Timer:
    """A dead-man deadline, e.g. ``deadman_timer("label within 15 minutes of return approval", ...)``."""
    if expect not in EXPECTATIONS:
        raise InvalidInput(f"a dead-man timer expects one of {sorted(EXPECTATIONS)}, not {expect!r}")
    if expect == "action_sent" and not action_id:
        raise InvalidInput("a dead-man timer on an action needs the action's id")
    payload = {"check": check, "expect": expect, "shop": shop, "order_id": order_id, "owner": owner}
    if action_id:
        payload["action_id"] = action_id
    timer_id = fit_id(f"deadman:{subject}:{check}", length=LONG_ID_LENGTH)  # the check is free text
    return Timer(id=timer_id, kind=DEADMAN, subject=subject, due_at=due_at, payload=payload)


def deadman_case(timer: Timer, now: datetime) -> CaseRecord:
    """The case a missed dead-man deadline opens; it goes to the automation's owner when one is named."""
    p = timer.payload
    check = str(p.get("check") or timer.id)
    return CaseRecord(
        id=fit_id(f"deadman-{timer.id}", "-"),
        shop=str(p.get("shop") or ""),
        kind="automation_failure",
        queue="automation",
        title=f"Missed automation deadline: {check}",
        reason=f"{check}: expected {p.get('expect')} by {timer.due_at.isoformat()}",
        opened_at=now,
        order_id=p.get("order_id"),
        source=fit_id(f"timer:{timer.id}", length=LONG_ID_LENGTH),
        priority="high",
        detail={
            "check": check,
            "expect": p.get("expect"),
            "due_at": timer.due_at.isoformat(),
            "action_id": p.get("action_id"),
            "owner": p.get("owner"),
        },
    )


def _happened(uow: UnitOfWork, timer: Timer) -> bool:
    expect = timer.payload.get("expect")
    if expect == "action_sent":
        try:
            return uow.outbox.get(str(timer.payload["action_id"])).status is ActionStatus.SENT
        except NotFound:
            return False
    if expect == "case_resolved":
        try:
            return not uow.cases.get(str(timer.payload.get("case_id") or timer.subject)).status.active
        except NotFound:
            return False
    raise InvalidInput(f"dead-man timer {timer.id}: unknown expectation {expect!r}")


def _clock_of(org: Org, uow: UnitOfWork, timer: Timer) -> tuple[Case, SlaPolicy, str, SlaClock] | None:
    """The case, policy and clock an SLA timer is about; ``None`` when any of them is gone."""
    try:
        case = uow.cases.get(timer.subject)
    except NotFound:
        return None
    found = policy_of(org, case)
    target = str(timer.payload.get("target"))
    if found is None or target not in found[1]:
        return None
    return case, found[0], target, found[1][target]


def _audit(uow: UnitOfWork, case: Case, action: str, now: datetime, after: dict[str, Any]) -> None:
    uow.audit.record([AuditEntry(now, "automation", action, f"case:{case.id}", None, after)])
