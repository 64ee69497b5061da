"""The dashboard's queue: which cases a person sees, in what order, and the SLA points of each row.

The page reads through the same repository as ``GET /api/v1/cases`` (one page of the queue from the
``(…, status, due_at)`` indexes, plus the count), so its cost is the API's plus the rendering. Each row
carries the moments its countdown changes colour: the first SLA warning and the breach, taken from the
case's own clocks (``detail["sla"]``), so the page shows what the timers will fire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsdesk.domain.calendar import is_open, next_open
from opsdesk.domain.cases import CASE_KINDS, Case, CaseStatus, describe
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.org import Org
from opsdesk.domain.queue_cursor import decode_cursor
from opsdesk.domain.records import CaseFilter
from opsdesk.domain.sla import CheckpointKind, checkpoints
from opsdesk.ports import UnitOfWork
from opsdesk.services.case_views import queue_slice
from opsdesk.services.sla import policy_of
from opsdesk.services.titles import with_order_name

PAGE_SIZE = 50
VIEWS = ("mine", "team", "all")
#: The "due" filter: a deadline before now plus this much (``breached``: before now).
DUE_WINDOWS = {"breached": timedelta(0), "1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(days=1)}
#: The pages before this one whose starts a page's address keeps, for Previous (about 200 characters each): further
#: back than that, First page.
MAX_BACK = 20


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """What the queue page was asked for (from its query string)."""

    view: str = "all"
    team: str | None = None
    queue: str | None = None
    kind: str | None = None
    status: str | None = None
    owner: str | None = None
    due: str | None = None
    shop: str | None = None
    #: The page's number as followed from the first (shown only), and where it starts: the ``next`` cursor of the
    #: page before (ADR 0059); a number without a cursor is the first page.
    page: int = 1
    cursor: str | None = None
    #: Where the pages between the first and this one started (their cursors, oldest first, at most ``MAX_BACK``):
    #: Previous is the page its last one starts, the very one the person was shown (ADR 0059, session 15).
    back: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    key: str
    title: str
    shop: str
    kind: str
    queue: str
    status: str
    status_text: str
    owner: str | None
    priority: str
    order_id: int | None
    opened_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    paused: bool
    mine: bool
    version: int
    off_hours: dict[str, str] | None = None
    #: What ended the case's exception while someone works on it ("the order shipped"; cases.settle), or "".
    moot: str = ""


@dataclass(frozen=True, slots=True)
class QueuePage:
    query: QueueQuery
    rows: list[Row]
    total: int
    page: int
    pages: int
    now: datetime
    teams: list[str] = field(default_factory=list)
    options: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: The cursor of the page after this one, ``None`` on the last.
    next: str | None = None


def my_teams(org: Org, person: str) -> list[str]:
    """The teams a person belongs to, leads or manages, by name."""
    return sorted(
        name for name, team in org.teams.items() if person in {*team.members, team.lead, team.manager}
    )


def queue_filter(org: Org, query: QueueQuery, person: str, now: datetime) -> CaseFilter:
    """The case filter a queue query stands for, as seen by ``person``."""
    owner = query.owner or None
    if query.view == "mine":
        owner = person
    elif query.view == "team":
        teams = my_teams(org, person)
        team = query.team if query.team in teams else (teams[0] if teams else None)
        owner = f"team:{team}" if team else f"team:{org.default_team}"
    window = DUE_WINDOWS.get(query.due or "")
    return CaseFilter(
        queue=query.queue or None,
        owner=owner,
        status=(query.status,) if query.status else (),
        kind=query.kind or None,
        shop=query.shop or None,
        due_before=now + window if window is not None else None,
    )


def queue_page(uow: UnitOfWork, org: Org, query: QueueQuery, person: str, now: datetime) -> QueuePage:
    """One page of the queue (what is due first first; resolved and closed cases the latest first), with the
    warning and breach moment of each row. It starts after ``query.cursor`` as the API's pages do, so a case that
    opens or ends meanwhile neither skips nor repeats one; ``InvalidInput`` for a cursor (or one of ``query.back``)
    made for other filters, or garbled. Its number is the one followed from the first (cases that ended may leave
    fewer pages than that)."""
    where = queue_filter(org, query, person, now)
    window = query.due if where.due_before is not None else None
    check_back(query, where, window)
    total = uow.cases.count(where)
    page = max(query.page, 2) if query.cursor is not None else 1
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, page)
    cases, following = queue_slice(uow, where, PAGE_SIZE, cursor=query.cursor, window=window)
    names = order_names(uow, cases)
    return QueuePage(
        query=query,
        rows=[row(org, case, person, names.get((case.shop, case.order_id or 0), ""), now) for case in cases],
        total=total,
        page=page,
        pages=pages,
        now=now,
        teams=my_teams(org, person),
        options=filter_options(org),
        next=following,
    )


def check_back(query: QueueQuery, where: CaseFilter, window: str | None) -> None:
    """``InvalidInput`` unless each cursor of ``query.back`` is one made for these filters, as ``query.cursor`` is
    checked (a trail without the page it leads to, or longer than kept, is refused too)."""
    if query.back and (query.cursor is None or len(query.back) > MAX_BACK):
        raise InvalidInput(f"query parameter 'back': at most {MAX_BACK} cursors, with a 'cursor'; "
                           "start again without it")
    for earlier in query.back:
        decode_cursor(earlier, where, window)


def filter_options(org: Org) -> dict[str, list[str]]:
    """The values the filter menus offer."""
    return {
        "queue": sorted(org.queues),
        "kind": sorted(CASE_KINDS),
        "status": [s.value for s in CaseStatus],
        "owner": sorted(org.people) + [f"team:{t}" for t in sorted(org.teams)],
        "due": list(DUE_WINDOWS),
    }


def order_names(uow: UnitOfWork, cases: Sequence[Case]) -> dict[tuple[str, int], str]:
    """The order numbers (``#1001``) of the cases' orders, in one read."""
    keys = {(ShopDomain(c.shop), OrderId(c.order_id)) for c in cases if c.order_id is not None}
    found = uow.orders.get_many(keys) if keys else {}
    return {(str(shop), int(oid)): s.snapshot.name for (shop, oid), s in found.items() if s.snapshot}


def row(org: Org, case: Case, person: str, order_name: str = "", now: datetime | None = None) -> Row:
    return Row(
        id=case.id,
        key=case.key,
        title=with_order_name(case.title, case.order_id, order_name),
        shop=case.shop,
        kind=case.kind,
        queue=case.queue,
        status=case.status.value,
        status_text=describe(case.status),
        owner=case.owner,
        priority=case.priority,
        order_id=case.order_id,
        opened_at=case.opened_at,
        due_at=case.due_at,
        warn_at=first_warning(org, case),
        paused=case.status.waiting,
        mine=case.person == person,
        version=case.version,
        off_hours=off_hours(org, case, now) if now is not None else None,
        moot=str((case.detail.get("moot") or {}).get("why", "")),
    )


def first_warning(org: Org, case: Case) -> datetime | None:
    """The first SLA warning of the clock that breaches first, or ``None`` (no clocks, or none running)."""
    found = policy_of(org, case) if case.due_at is not None else None
    if found is None:
        return None
    policy, clocks = found
    warnings: list[tuple[datetime, datetime]] = []
    for target, clock in clocks.items():
        if clock.met_at is not None:
            continue
        points = checkpoints(policy, target, clock)
        breach = next((p.at for p in points if p.kind is CheckpointKind.BREACH), None)
        warn = next((p.at for p in points if p.kind is CheckpointKind.WARNING), None)
        if breach is not None and warn is not None:
            warnings.append((breach, warn))
    return min(warnings)[1] if warnings else None


def off_hours(org: Org, case: Case, now: datetime) -> dict[str, str] | None:
    """When business time resumes, if the hours the case's deadline is counted in are closed at ``now``.

    The countdown counts clock time to the deadline, as the badges of help desks do (so that cases on
    different calendars compare at a glance), and the deadline does not move while the hours are closed;
    this says that nobody's business time is running meanwhile, and until when (``at``, and ``text`` in
    the zone the dashboard shows every time in, ``desk_zone``)."""
    found = policy_of(org, case) if case.due_at is not None and not case.status.waiting else None
    if found is None or is_open(found[0].calendar, now):
        return None
    cal = found[0].calendar
    resumes = next_open(cal, now)
    return {"at": resumes.isoformat(), "text": resumes.astimezone(ZoneInfo(desk_zone(org))).strftime("%a %H:%M %Z")}


def desk_zone(org: Org) -> str:
    """The time zone the dashboard shows times in: that of the business calendars the SLA policies count in
    (those with opening hours; a 24/7 one's zone is only a label); where they differ, the default SLA policy's
    if it is one of them, else UTC; UTC too for a desk with no SLA policy. The API keeps ISO UTC."""
    calendars = [policy.calendar for policy in org.sla_policies.values()]
    zones = {c.timezone for c in calendars if not c.is_always_open} or {c.timezone for c in calendars}
    if len(zones) == 1:
        return zones.pop()
    default = org.default_sla.calendar.timezone if org.default_sla is not None else "UTC"
    return default if default in zones else "UTC"


def sla_marks(org: Org, case: Case, now: datetime) -> list[dict[str, Any]]:
    """The SLA warnings and breaches a case's clocks have passed, for its timeline (the clocks are the truth)."""
    found = policy_of(org, case)
    if found is None:
        return []
    policy, clocks = found
    marks = []
    for target, clock in sorted(clocks.items()):
        limit = min(now, clock.met_at) if clock.met_at is not None else now
        for point in checkpoints(policy, target, clock):
            if point.at <= limit:
                breach = point.kind is CheckpointKind.BREACH
                text = "breached" if breach else f"warning: {point.fraction:.0%} of the time used"
                marks.append({"at": point.at, "target": target, "breach": breach, "text": text})
    return sorted(marks, key=lambda m: m["at"])
