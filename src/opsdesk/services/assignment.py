"""Who owns a case or an open order: selection rules, and the return timer that takes untouched cases back.

A case goes to a member of its queue's team who is active, on shift and has the queue's skills, chosen
by the queue's strategy (least loaded, or in turn); with nobody on shift, to the team's on-call person of
the week; with no rota, to the team itself, so that it is never without an owner.

Round robin keeps no state of its own: the n-th case the queue has ever had goes to candidate n modulo
the number of candidates (sorted by id). The count is already in the database, grows by one per case,
is the same on every backend, survives restarts and rolls back with the transaction that opened the
case, so the rotation can neither drift from the cases nor need a table of its own. (The audit log
cannot be read back through its port, and the case list is ordered by deadline, not by assignment, so
"the last case assigned" is not something either can answer cheaply or reliably.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from opsdesk.domain.cases import Case, CaseChange
from opsdesk.domain.org import Org, Queue
from opsdesk.domain.records import CaseFilter, Timer
from opsdesk.policy.cel import CelCondition
from opsdesk.ports import UnitOfWork
from opsdesk.services.notify import DIGEST, Notifier

if TYPE_CHECKING:
    from opsdesk.services.cases import CaseHooks

RETURN_TIMER = "return_timer"

OwnerFor = Callable[[UnitOfWork, Case, datetime], str]
OnChanged = Callable[[UnitOfWork, Case, Case, CaseChange, datetime], None]
TimerHandler = Callable[[UnitOfWork, Timer, datetime], None]


def make_owner_for(org: Org) -> OwnerFor:
    """The ``owner_for`` case hook: choose an owner for a case as the organisation says."""

    def owner_for(uow: UnitOfWork, case: Case, now: datetime) -> str:
        # An automation's failures and missed deadlines go to whoever answers for that automation.
        named = case.detail.get("owner")
        if isinstance(named, str) and named:
            return named
        return choose_owner(org, uow, case, now)

    return owner_for


def choose_owner(
    org: Org, uow: UnitOfWork, case: Case, now: datetime, exclude: frozenset[str] = frozenset()
) -> str:
    """A person on shift, else the on-call person of the week, else ``team:<name>``; never one of ``exclude``."""
    queue = org.queue(case.queue)
    team = org.team(queue.team)
    people = candidates(org, queue, now, exclude)
    if people:
        return _pick(uow, queue, people)
    on_call = team.on_call_at(now)
    person = org.people.get(on_call) if on_call is not None else None
    if person is not None and person.active and person.id not in exclude:
        return person.id
    return team.owner


def candidates(org: Org, queue: Queue, now: datetime, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Members of the queue's team who are active, on shift and have the queue's skills, by id."""
    members = set(org.team(queue.team).members) - exclude
    return sorted(
        pid for pid in members if (p := org.people.get(pid)) and p.on_shift(now) and queue.skills <= p.skills
    )


def _pick(uow: UnitOfWork, queue: Queue, people: list[str]) -> str:
    if queue.assignment == "round_robin":
        turn = uow.cases.count(CaseFilter(queue=queue.name, active_only=False))
        return people[turn % len(people)]
    return min(people, key=lambda pid: (uow.cases.count(CaseFilter(owner=pid)), pid))


def order_owner(org: Org, shop_default: str, facts: Mapping[str, Any]) -> str:
    """The owner of an open order: the first ``ownership.order_rules`` rule that holds, else the shop's."""
    for source, owner in org.order_rules:
        if _condition(source)(facts):
            return owner
    return shop_default


@lru_cache(maxsize=256)
def _condition(source: str) -> CelCondition:
    """Compiled once per expression (build_org has checked that each one compiles)."""
    return CelCondition(source)


def return_timer_for(case: Case, now: datetime, after: timedelta = timedelta(minutes=60)) -> Timer:
    """The timer that takes ``case`` back from its owner if they do not act within ``after``."""
    return Timer(
        f"{case.id}:return",
        RETURN_TIMER,
        case.id,
        now + after,
        {"owner": case.person or "", "since": now.isoformat()},
    )


def _timer_runs(case: Case) -> bool:
    """A person owns the case, it is active, not waiting on anyone, and not escalated up the ladder."""
    return (
        case.person is not None
        and case.status.active
        and not case.status.waiting
        and case.escalation_level == 0
    )


def _acted_since_given(timeline: Iterable[CaseChange], person: str) -> bool:
    """Whether ``person`` has done anything to the case (claimed, commented, started, ...) since it
    last became theirs: the return timer is for cases nobody has taken up, not for slow work."""
    acted = False
    for change in timeline:
        if change.actor == person:
            acted = True
        elif change.after.get("owner") == person and change.before.get("owner") != person:
            acted = False  # given to them (again) by someone else
    return acted


def make_on_changed(org: Org, notifier: Notifier) -> OnChanged:
    """The ``on_changed`` case hook: start or stop the return timer, tell a new owner, and tell the owner
    when their case becomes moot (``cases.settle``: the order moved on while they work on it; a case is
    marked so once, so they hear it once), through the same digests as an SLA warning.

    The timer starts when a person is given the case by someone else, and stops for good the moment
    they act on it: a case someone has started, commented on or put on hold is being worked, and
    taking it away for "no action" would be wrong (a slow case is the SLA ladder's to chase). A case
    that becomes eligible again (it stops waiting, it is reopened) gets a timer only for an owner
    who has not acted on it yet.
    """

    def on_changed(uow: UnitOfWork, before: Case, after: Case, change: CaseChange, now: datetime) -> None:
        person = after.person
        if person is None or not _timer_runs(after) or change.actor == person:
            uow.timers.cancel(after.id, [RETURN_TIMER])
        elif before.owner != after.owner or (
            not _timer_runs(before) and not _acted_since_given(uow.cases.timeline(after.id), person)
        ):
            # Same id each time: scheduling it again moves the one pending row (the sweeper marks a
            # timer fired before its handler runs, so this is safe inside the return timer's own handler).
            uow.timers.schedule([return_timer_for(after, now, org.return_timer)])
        if after.owner is not None and after.owner not in (before.owner, change.actor):
            _tell_new_owner(notifier, uow, after.owner, after, change, now)
        if change.kind == "moot":
            notifier.tell(uow, after, change.note, now)

    return on_changed


def _tell_new_owner(
    notifier: Notifier, uow: UnitOfWork, owner: str, case: Case, change: CaseChange, now: datetime
) -> None:
    whose = f"with team {owner.removeprefix('team:')}" if case.person is None else "now yours"
    body = f"Queue {case.queue}, priority {case.priority}. {change.note or case.reason}".strip()
    notifier.notify_owner(uow, owner, f"Case {case.key} is {whose}: {case.title}", body, now)


def make_return_timer_handler(
    org: Org, hooks_provider: Callable[[], CaseHooks], notifier: Notifier
) -> TimerHandler:
    """The ``return_timer`` handler: an owner who has not acted loses the case to the next candidate.

    The check reads the timeline rather than trusting the timer, so a timer armed before its owner
    acted (or by an older desk that re-armed it on every action) takes nothing away from them."""

    def handle(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        case = uow.cases.get(timer.subject)
        owner = str(timer.payload.get("owner", ""))
        if not _idle(uow, case, owner):
            return
        successor = choose_owner(org, uow, case, now, exclude=frozenset({owner}))
        minutes = int(org.return_timer.total_seconds() // 60)
        _reassign(
            uow, case, successor, now, hooks_provider(), f"return timer: no action in {minutes} minutes"
        )
        lead = org.team(org.queue(case.queue).team).lead
        if lead is not None:
            subject = f"Case {case.key} went from {owner} to {successor}: no action in {minutes} minutes"
            notifier.notify(uow, lead, subject, f"{case.title} (queue {case.queue})", now)

    return handle


def _idle(uow: UnitOfWork, case: Case, owner: str) -> bool:
    """Still with ``owner``, still running the timer, and nothing done by them since it became theirs."""
    if not owner or case.person != owner or not _timer_runs(case):
        return False
    return not _acted_since_given(uow.cases.timeline(case.id), owner)


def _reassign(uow: UnitOfWork, case: Case, owner: str, now: datetime, hooks: CaseHooks, note: str) -> None:
    # Imported here: the case service's hooks are built from this module, so it must not need it at import.
    from opsdesk.services.cases import act

    act(uow, case.id, "assign", "automation", now, hooks, owner=owner, note=note)


def timer_handlers(
    org: Org, hooks_provider: Callable[[], CaseHooks], notifier: Notifier
) -> dict[str, TimerHandler]:
    """The timer kinds this module and the notifier handle, for the sweeper's kind -> handler table."""
    return {
        RETURN_TIMER: make_return_timer_handler(org, hooks_provider, notifier),
        DIGEST: notifier.send_digest,
    }
