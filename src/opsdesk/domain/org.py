"""Who works the desk: people, teams, queues and the SLA policy each queue's cases run on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from opsdesk.domain.calendar import BusinessCalendar, is_open
from opsdesk.domain.sla import SlaPolicy


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

    def queue(self, name: str) -> Queue:
        """The queue's settings; a queue nobody configured belongs to the default team, with no SLA."""
        return self.queues.get(name) or Queue(name=name, team=self.default_team)

    def team(self, name: str) -> Team:
        return self.teams.get(name) or Team(name=name)

    def sla_for(self, queue: str, priority: str) -> SlaPolicy | None:
        name = self.queue(queue).policy_name(priority)
        return self.sla_policies.get(name) if name else None
