"""Build the organisation (people, teams, queues, SLA policies) from ``opsdesk.yaml``.

Cross-references are checked here, with errors that name the field (``yamldoc.InvalidField``, its keys): a queue's
team, a policy's calendar, a team's members must all exist. Every problem is collected, not only the first
(``yamldoc.InvalidFields``). Where the field is written, the caller knows (``yamldoc.located``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta

from opsdesk.calendars import build_calendar
from opsdesk.config import CalendarConfig, FileConfig, PersonConfig, QueueConfig, SlaPolicyConfig, TeamConfig
from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.sla import SlaPolicy
from opsdesk.policy.cel import compile_condition
from opsdesk.yamldoc import InvalidField, InvalidFields, gathered

Keys = Sequence[str | int]

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$")
UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ALWAYS = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
#: The SLA of a case whose queue names none, when ``ownership.default_sla`` names no policy (ADR 0046).
DEFAULT_SLA = "default"
DEFAULT_SLA_TARGETS = {"resolution": timedelta(hours=24)}


def duration(text: str, at: Keys) -> timedelta:
    match = DURATION.match(text.strip())
    if not match:
        raise InvalidField(at, f"{text!r} is not a duration such as 30m, 4h, 2d")
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})


def _calendar(name: str, cfg: CalendarConfig, years: range, found: list[InvalidField]) -> BusinessCalendar:
    """The calendar; one that cannot be built is reported here and stands in as open around the clock, so that
    what names it is not reported again (its name is defined: only its hours are wrong)."""
    hours: dict[str, list[str]] = (
        ALWAYS if cfg.always_open or not cfg.hours else {str(k): v for k, v in cfg.hours.items()}
    )
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
        found.append(InvalidField(["calendars", name], str(exc)))
        return _always_open(years)


def _always_open(years: range) -> BusinessCalendar:
    return build_calendar("UTC", ALWAYS, None, None, years, [])


def _clock(text: str, at: Keys) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidField(at, f"{text!r} is not a time of day such as 22:00") from None


def _quiet(hours: tuple[str, str] | None, at: Keys) -> tuple[time, time] | None:
    if not hours:
        return None
    found: list[InvalidField] = []
    start = end = time()
    with gathered(found):
        start = _clock(hours[0], [*at, 0])
    with gathered(found):
        end = _clock(hours[1], [*at, 1])
    InvalidFields.refuse(found)
    if start == end:
        raise InvalidField(at, f"quiet hours must start and end at different times, got {hours[0]!r} twice")
    return start, end


def build_org(file: FileConfig, now: datetime | None = None) -> Org:
    """The organisation the desk works with; raises ``InvalidInput`` naming every bad reference (an
    ``InvalidField``, or ``InvalidFields`` when there are more: ``read_org``)."""
    org, found = read_org(file, now)
    InvalidFields.refuse(found)
    return org


def read_org(file: FileConfig, now: datetime | None = None) -> tuple[Org, list[InvalidField]]:
    """The organisation as far as it can be built, and every problem found on the way, each checked on its own
    (ADR 0060, session 15 (2)). A name that is defined stays known though its definition has a problem (a
    calendar's hours, a policy's target), so the problem is reported once, where it is, not at each use."""
    found: list[InvalidField] = []
    year = (now or datetime.now(UTC)).year
    years = range(year - 1, year + 3)
    calendars = {name: _calendar(name, cfg, years, found) for name, cfg in file.calendars.items()}
    policies = {name: _policy(name, cfg, calendars, years, found) for name, cfg in file.sla_policies.items()}
    people = _people(file, calendars, found)
    teams = {name: _team(name, cfg, people, found) for name, cfg in file.teams.items()}
    queues = {name: _queue(name, cfg, teams, policies, found) for name, cfg in file.queues.items()}
    ownership = file.ownership
    if teams and ownership.default_team not in teams:
        found.append(InvalidField(["ownership", "default_team"], f"no team {ownership.default_team!r} under teams"))
    default_sla = None
    if queues:
        default_sla = _default_sla(file, policies, years)
        with gathered(found):
            _check_default_sla(file, policies)
    org = Org(
        people,
        teams,
        queues,
        policies,
        ownership.default_team,
        timedelta(minutes=ownership.return_timer_minutes),
        _order_rules(ownership.order_rules, people, teams, found),
        default_sla,
    )
    return org, found


def _default_sla(file: FileConfig, policies: Mapping[str, SlaPolicy], years: range) -> SlaPolicy:
    """The policy a case runs on when its queue names none: ``ownership.default_sla``, else the one named
    ``default``, else 24 hours around the clock (a case in a queue missing from ``queues:`` has a deadline)."""
    found = policies.get(file.ownership.default_sla or DEFAULT_SLA)
    return found or SlaPolicy(DEFAULT_SLA, _always_open(years), DEFAULT_SLA_TARGETS)


def _check_default_sla(file: FileConfig, policies: Mapping[str, SlaPolicy]) -> None:
    name = file.ownership.default_sla
    if name is not None and name not in policies:
        raise InvalidField(["ownership", "default_sla"], f"no SLA policy {name!r} under sla_policies")


def _find_calendar(calendars: Mapping[str, BusinessCalendar], name: str | None, at: Keys) -> BusinessCalendar | None:
    if name is None:
        return None
    if name not in calendars:
        known = ", ".join(sorted(calendars)) or "none"
        raise InvalidField(at, f"no calendar {name!r} (calendars: {known})")
    return calendars[name]


def _policy(
    name: str, cfg: SlaPolicyConfig, calendars: Mapping[str, BusinessCalendar], years: range,
    found: list[InvalidField],
) -> SlaPolicy:
    """The policy; a calendar or a target it cannot have is reported and left out (around the clock, no target)."""
    cal = None
    with gathered(found):
        cal = _find_calendar(calendars, cfg.calendar, ["sla_policies", name, "calendar"])
    targets = {}
    for t, v in cfg.targets.items():
        with gathered(found):
            targets[t] = duration(v, ["sla_policies", name, "targets", t])
    return SlaPolicy(name, cal or _always_open(years), targets, tuple(cfg.warn_at), tuple(cfg.ladder))


def _people(
    file: FileConfig, calendars: Mapping[str, BusinessCalendar], found: list[InvalidField]
) -> dict[str, Person]:
    """People with their working calendar: their own, else that of the first team that has one. A team's calendar
    that is no calendar is reported at the team, not again at each member who would have had it."""
    team_calendar: dict[str, BusinessCalendar] = {}
    for name, team in file.teams.items():
        cal = None
        with gathered(found):
            cal = _find_calendar(calendars, team.calendar, ["teams", name, "calendar"])
        for member in team.members:
            if cal is not None:
                team_calendar.setdefault(member, cal)
    return {pid: _person(pid, p, calendars, team_calendar.get(pid), found) for pid, p in file.people.items()}


def _person(
    pid: str, p: PersonConfig, calendars: Mapping[str, BusinessCalendar], team_calendar: BusinessCalendar | None,
    found: list[InvalidField],
) -> Person:
    """The person, known by their id whatever else is wrong with them (a team naming them is not wrong)."""
    own = quiet = None
    with gathered(found):
        own = _find_calendar(calendars, p.calendar, ["people", pid, "calendar"])
    with gathered(found):
        quiet = _quiet(p.quiet_hours, ["people", pid, "quiet_hours"])
    return Person(pid, p.name, p.email, frozenset(p.skills), own or team_calendar, quiet, p.chat_webhook_env,
                  p.active)


def _team(name: str, t: TeamConfig, people: Mapping[str, Person], found: list[InvalidField]) -> Team:
    roles: list[tuple[tuple[str | int, ...], str | None]] = [
        *((("members", i), m) for i, m in enumerate(t.members)), (("lead",), t.lead), (("manager",), t.manager),
        *((("on_call", i), m) for i, m in enumerate(t.on_call))]
    found += [InvalidField(["teams", name, *role], f"no person {who!r} under people")
              for role, who in roles if who is not None and who not in people]
    return Team(name, tuple(dict.fromkeys(t.members)), t.lead, t.manager, tuple(t.on_call))


def _queue(
    name: str, q: QueueConfig, teams: Mapping[str, Team], policies: Mapping[str, SlaPolicy], found: list[InvalidField]
) -> Queue:
    if q.team not in teams:
        found.append(InvalidField(["queues", name, "team"], f"no team {q.team!r} under teams"))
    named = [(("sla",), q.sla), *((("sla_by_priority", p), policy) for p, policy in q.sla_by_priority.items())]
    found += [InvalidField(["queues", name, *at], f"no SLA policy {policy!r} under sla_policies")
              for at, policy in named if policy is not None and policy not in policies]
    return Queue(name, q.team, q.sla, dict(q.sla_by_priority), q.assignment, frozenset(q.skills))


def _order_rules(
    rules: list[dict[str, str]], people: Mapping[str, Person], teams: Mapping[str, Team], found: list[InvalidField]
) -> tuple[tuple[str, str], ...]:
    """Each rule is ``{if: <CEL>, owner: <person id or team:name>}``; checked here so a bad one never loads. A rule
    without exactly those keys is reported as such, its condition and owner not looked at."""
    checked = []
    for i, rule in enumerate(rules):
        at: list[str | int] = ["ownership", "order_rules", i]
        if set(rule) != {"if", "owner"}:
            found.append(InvalidField(at, f"a rule has exactly the keys 'if' and 'owner', got {sorted(rule)}"))
            continue
        try:
            compile_condition(rule["if"])
        except ValueError as exc:
            found.append(InvalidField([*at, "if"], str(exc)))
        with gathered(found):
            _check_owner(rule["owner"], [*at, "owner"], people, teams)
        checked.append((rule["if"], rule["owner"]))
    return tuple(checked)


def _check_owner(owner: str, at: Keys, people: Mapping[str, Person], teams: Mapping[str, Team]) -> None:
    team = owner.removeprefix("team:")
    known = team in teams if owner.startswith("team:") else owner in people
    if not known:
        raise InvalidField(at, f"{owner!r} is neither a person under people nor team:<a team under teams>")


#: The priority of the cases a configured watcher opens when its settings name none (a warehouse's missed pickup).
_WATCHER_PRIORITY = "high"


def unrouted_settings(org: Org, file: FileConfig) -> list[tuple[tuple[str, ...], str]]:
    """(where, why) of every enabled monitor, the discount guard, each warehouse and the reconciliation outage
    case (ADR 0048) whose cases go to a queue with no team or SLA policy of its own (``Org.unrouted``, ADR 0046):
    the settings' side of the playbooks' check.
    ``where`` is the setting's keys in opsdesk.yaml (``monitors, email_health``, ``warehouses, main``)."""
    found: list[tuple[tuple[str, ...], str]] = []
    watchers: list[tuple[tuple[str, ...], object]] = [
        *((("monitors", name), getattr(file.monitors, name)) for name in type(file.monitors).model_fields),
        (("discount_guard",), file.discount_guard),
        *((("warehouses", name), warehouse) for name, warehouse in file.warehouses.items()),
        *([(("reconcile", "outage"), file.reconcile.outage)] if file.reconcile.enabled else []),
    ]
    for where, cfg in watchers:
        queue = getattr(cfg, "queue", None)
        if queue is None or not getattr(cfg, "enabled", True):
            continue
        if why := org.unrouted(str(queue), str(getattr(cfg, "priority", _WATCHER_PRIORITY))):
            found.append((where, why))
    return found
