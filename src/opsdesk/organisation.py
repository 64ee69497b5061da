"""Build the organisation (people, teams, queues, SLA policies) from ``opsdesk.yaml``.

Cross-references are checked here, with errors that name the key: a queue's team, a policy's
calendar, a team's members must all exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from opsdesk.calendars import build_calendar
from opsdesk.config import CalendarConfig, FileConfig
from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.sla import SlaPolicy

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$")
UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ALWAYS = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def duration(text: str, where: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match:
        raise InvalidInput(f"{where}: {text!r} is not a duration such as 30m, 4h, 2d")
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})


def _calendar(name: str, cfg: CalendarConfig, years: range) -> BusinessCalendar:
    hours: dict[str, list[str]] = ALWAYS if cfg.always_open or not cfg.hours else {str(k): v for k, v in cfg.hours.items()}
    try:
        return build_calendar(
            cfg.timezone,
            hours,
            cfg.holidays.country if cfg.holidays else None,
            cfg.holidays.subdivision if cfg.holidays else None,
            years,
            cfg.closures,
        )
    except InvalidInput as exc:
        raise InvalidInput(f"calendars.{name}: {exc}") from exc


def _clock(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{where}: {text!r} is not a time of day such as 22:00") from None


def _quiet(hours: tuple[str, str] | None, where: str) -> tuple[time, time] | None:
    return (_clock(hours[0], where), _clock(hours[1], where)) if hours else None


def build_org(file: FileConfig, now: datetime | None = None) -> Org:
    """The organisation the desk works with; raises ``InvalidInput`` naming the first bad reference."""
    year = (now or datetime.now(UTC)).year
    years = range(year - 1, year + 3)
    calendars = {name: _calendar(name, cfg, years) for name, cfg in file.calendars.items()}

    def calendar(name: str | None, where: str) -> BusinessCalendar | None:
        if name is None:
            return None
        if name not in calendars:
            raise InvalidInput(
                f"{where}: no calendar {name!r} (calendars: {', '.join(sorted(calendars)) or 'none'})"
            )
        return calendars[name]

    policies = {}
    for name, cfg in file.sla_policies.items():
        cal = calendar(cfg.calendar, f"sla_policies.{name}.calendar")
        assert cal is not None
        targets = {t: duration(v, f"sla_policies.{name}.targets.{t}") for t, v in cfg.targets.items()}
        policies[name] = SlaPolicy(name, cal, targets, tuple(cfg.warn_at), tuple(cfg.ladder))
    people = {
        pid: Person(
            pid,
            p.name,
            p.email,
            frozenset(p.skills),
            calendar(p.calendar, f"people.{pid}.calendar"),
            _quiet(p.quiet_hours, f"people.{pid}.quiet_hours"),
            p.chat_webhook_env,
            p.active,
        )
        for pid, p in file.people.items()
    }
    teams = {}
    for name, t in file.teams.items():
        for role, who in (
            [("members", m) for m in t.members]
            + [("lead", t.lead), ("manager", t.manager)]
            + [("on_call", m) for m in t.on_call]
        ):
            if who is not None and who not in people:
                raise InvalidInput(f"teams.{name}.{role}: no person {who!r} under people")
        teams[name] = Team(name, tuple(t.members), t.lead, t.manager, tuple(t.on_call))
    queues = {}
    for name, q in file.queues.items():
        if q.team not in teams:
            raise InvalidInput(f"queues.{name}.team: no team {q.team!r} under teams")
        for policy in [q.sla, *q.sla_by_priority.values()]:
            if policy is not None and policy not in policies:
                raise InvalidInput(f"queues.{name}: no SLA policy {policy!r} under sla_policies")
        queues[name] = Queue(name, q.team, q.sla, dict(q.sla_by_priority), q.assignment, frozenset(q.skills))
    return Org(
        people,
        teams,
        queues,
        policies,
        file.ownership.default_team,
        timedelta(minutes=file.ownership.return_timer_minutes),
    )
