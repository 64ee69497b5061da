"""Who works the desk: people, teams, queues and the SLA policy each queue's cases run on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsdesk.domain.calendar import BusinessCalendar, is_open
from opsdesk.domain.policies import Escalation, Playbook
from opsdesk.domain.sla import SlaPolicy

#: The Monday the on-call rota counts its weeks from (weeks turn at Monday 00:00 UTC).
ROTA_EPOCH = date(2026, 1, 5)


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str = ""
    skills: frozenset[str] = frozenset()
    calendar: BusinessCalendar | None = None
    quiet_hours: tuple[time, time] | None = None
    chat_webhook: str | None = None
    active: bool = True

    def on_shift(self, at: datetime) -> bool:
        """Working now (a person without a calendar of their own is taken as always working)."""
        return self.active and (self.calendar is None or is_open(self.calendar, at))

    @property
    def timezone(self) -> str:
        """The zone quiet hours are read in: the working calendar's, else UTC."""
        return self.calendar.timezone if self.calendar is not None else "UTC"

    def quiet_period(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The quiet stretch (start, end, in UTC) that ``at`` falls in, or None outside quiet hours."""
        if self.quiet_hours is None or self.quiet_hours[0] == self.quiet_hours[1]:
            return None
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for start_day in (local.date() - timedelta(days=1), local.date()):
            start, end = _stretch(start_day, self.quiet_hours, zone)
            if start <= at < end:
                return start, end
        return None


def _stretch(day: date, hours: tuple[time, time], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Quiet hours beginning on local ``day`` as UTC instants; an end before the start is the next day."""
    start = datetime.combine(day, hours[0], zone)
    end_day = day + timedelta(days=1) if hours[1] < hours[0] else day
    return start.astimezone(UTC), datetime.combine(end_day, hours[1], zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    members: tuple[str, ...] = ()
    lead: str | None = None
    manager: str | None = None
    on_call: tuple[str, ...] = ()

    @property
    def owner(self) -> str:
        return f"team:{self.name}"

    def on_call_at(self, at: datetime) -> str | None:
        """Who is on call in the week of ``at``: the rota in turn, one person a week; None without a rota."""
        if not self.on_call:
            return None
        week = (at.astimezone(UTC).date() - ROTA_EPOCH).days // 7
        return self.on_call[week % len(self.on_call)]


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    team: str
    sla: str | None = None
    sla_by_priority: Mapping[str, str] = field(default_factory=dict)
    assignment: str = "least_loaded"
    skills: frozenset[str] = frozenset()

    def policy_name(self, priority: str) -> str | None:
        return self.sla_by_priority.get(priority, self.sla)


@dataclass(frozen=True, slots=True)
class Org:
    people: Mapping[str, Person] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    queues: Mapping[str, Queue] = field(default_factory=dict)
    sla_policies: Mapping[str, SlaPolicy] = field(default_factory=dict)
    default_team: str = "ops"
    return_timer: timedelta = timedelta(minutes=60)
    #: Open-order ownership rules in order: (CEL condition over the order facts, owner); first match wins.
    order_rules: tuple[tuple[str, str], ...] = ()
    #: The SLA a case runs on when its queue names none for its priority (a queue missing from ``queues:``):
    #: every case has a deadline (ADR 0046). None: such a case has no SLA clocks.
    default_sla: SlaPolicy | None = None

    def queue(self, name: str) -> Queue:
        """The queue's settings; a queue nobody configured belongs to the default team, with no SLA."""
        return self.queues.get(name) or Queue(name=name, team=self.default_team)

    def team(self, name: str) -> Team:
        return self.teams.get(name) or Team(name=name)

    def knows_owner(self, owner: str) -> bool:
        """Whether ``owner`` is a person under ``people:`` or ``team:<name>`` of a team under ``teams:`` (or the
        default team): someone a case can be given to, who is told and who the ladder can climb from. A desk that
        lists no people (no teams) yet has nobody to check a person (a team) against, and takes any name."""
        if owner.startswith("team:"):
            name = owner.removeprefix("team:")
            return not self.teams or name in self.teams or name == self.default_team
        return not self.people or owner in self.people

    def unknown_owner(self, owner: str) -> str | None:
        """None when the organisation knows ``owner`` (``knows_owner``); else who it knows of that kind, for the
        refusal to name: ``people: alice, bob`` or ``teams: ops, support``."""
        if self.knows_owner(owner):
            return None
        if owner.startswith("team:"):
            return "teams: " + ", ".join(sorted({*self.teams, self.default_team}))
        return "people: " + ", ".join(sorted(self.people))

    def sla_for(self, queue: str, priority: str) -> SlaPolicy | None:
        name = self.queue(queue).policy_name(priority)
        return self.sla_policies.get(name) if name else self.default_sla

    def unrouted(self, queue: str, priority: str) -> str | None:
        """Why a case in ``queue`` at ``priority`` has no team of its own or no SLA policy of its own, or None
        when it has both (a desk with no ``queues:`` yet has nothing to check against, ADR 0046)."""
        if not self.queues:
            return None
        fallback = f"the default SLA {self.default_sla.name!r}" if self.default_sla else "no SLA deadline"
        if queue not in self.queues:
            return (f"queue {queue!r} is not under queues: its cases go to team:{self.default_team} on {fallback} "
                    f"(queues: {', '.join(sorted(self.queues))})")
        if self.queues[queue].policy_name(priority) is None:
            return f"queue {queue!r} names no SLA policy for priority {priority!r}: its cases run on {fallback}"
        return None


def escalations(playbook: Playbook) -> list[tuple[str, tuple[str | int, ...], Escalation]]:
    """Where each case the playbook opens goes: (``default`` or ``rule ID``, the keys of its ``escalate`` or
    ``case`` in the playbook's file, the escalation). A loaded playbook has every rule of its file, in order."""
    found: list[tuple[str, tuple[str | int, ...], Escalation | None]] = [
        ("default", ("escalate",), playbook.default_escalation)]
    for i, rule in enumerate(playbook.rules):
        found += [(f"rule {rule.id}", ("rules", i, "escalate"), rule.escalation),
                  (f"rule {rule.id}", ("rules", i, "case"), rule.case)]
    return [(where, keys, case) for where, keys, case in found if case is not None]


def unrouted_escalations(org: Org, playbooks: Sequence[Playbook]) -> list[tuple[str, str]]:
    """(where, why) of every playbook rule (and default) whose cases go to a queue with no team or no SLA policy
    of its own (``Org.unrouted``): a typo in a queue's name, found before its first case. ``where`` is
    ``playbook NAME, rule ID`` (or ``, default``)."""
    found: dict[tuple[str, str], None] = {}
    for playbook in playbooks:
        for where, _keys, case in escalations(playbook):
            if why := org.unrouted(case.queue, case.priority):
                found[(f"playbook {playbook.name}, {where}", why)] = None
    return list(found)
