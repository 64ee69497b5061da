"""Simulated people working the queue: during their shift each takes the next case (their own first,
then their team's), works it for a while drawn around the scenario's pace, and resolves it.

They act through the same case service as the CLI and the API (claim, start, assign, resolve), so their
work is timed by the SLA clocks like anyone's, and they choose among the resolutions the case page offers.
A case in progress that comes to someone (handed back to the team by the return timer, or escalated up the
ladder) is theirs to finish too: left alone it would sit at the top of the queue, overdue. A manager (in
no team but managing one) takes only what the ladder escalates to them, not the team's queue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsdesk.desk import Desk
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.errors import Conflict, InvalidInput
from opsdesk.domain.records import CaseFilter
from opsdesk.services.cases import act
from opsdesk.services.dashboard_case import fitting_resolutions
from opsdesk.simulator.scenario import Staffing

#: The statuses of cases a person may take: waiting ones wait on someone else.
WORKABLE = ("open", "assigned", "in_progress")

#: What a competent person decides for a case of each kind, when the case page offers it (else, and for
#: every kind not named, ``no_action``: the work is done outside the desk, or there is nothing to undo).
#: Not named on purpose: a return case is a label that could not be bought (the desk keeps trying; the
#: refund follows the goods, so refunding now would pay twice); a dispute is answered with evidence in
#: Shopify (a refund on a disputed charge pays twice); a late or stuck order is chased with the warehouse;
#: a risk case needs a judgement on evidence the simulation does not model.
RESOLUTION_BY_KIND = {
    "refund": "approve_refund",  # the request a rule could not decide: the amount is on the case
    "discount": "pause_discount",  # docs/playbooks/discount-glitch.md: pause it, even if the guard did
}


@dataclass(slots=True)
class Worker:
    name: str
    teams: tuple[str, ...]
    manager: bool = False  # manages a team and works in none: takes only what is escalated to them
    busy_until: datetime | None = None
    case_id: str | None = None
    resolved: int = 0


@dataclass(slots=True)
class PeopleStats:
    claimed: int = 0
    resolved: int = 0
    conflicts: int = 0
    refused: list[str] = field(default_factory=list)


class People:
    """The staff of a scenario, working one desk."""

    def __init__(self, desk: Desk, staffing: Staffing, day_start: datetime, rng: random.Random) -> None:
        names = staffing.people or tuple(desk.org.people)
        for name in names:  # one the organisation does not know would take no case (ADR 0047)
            if (known := desk.org.unknown_owner(name)) is not None:
                raise InvalidInput(f"staffing.people: no person {name!r} under people: in opsdesk.yaml ({known})")
        self.desk, self.staffing, self.day_start, self.rng = desk, staffing, day_start, rng
        self.workers = [_worker(desk, n) for n in names]
        self.stats = PeopleStats()

    def on_shift(self, at: datetime) -> bool:
        local = (at - self.day_start) % timedelta(days=1)
        start, end = self.staffing.shift
        if end < start:  # a night shift: from its start to midnight, and from midnight to its end
            return local >= start or local < end
        return start <= local < end

    def next_event(self) -> datetime | None:
        busy = [w.busy_until for w in self.workers if w.busy_until is not None]
        return min(busy) if busy else None

    def work(self, now: datetime) -> bool:
        """Resolve the cases whose work is done, and take new ones; whether anyone tried to change a case."""
        tried = False
        for worker in self.workers:
            if worker.busy_until is not None and worker.busy_until <= now and worker.case_id is not None:
                self._resolve(worker, now)
                tried = True
        idle = [w for w in self.workers if w.busy_until is None]
        if not idle or not self.on_shift(now):
            return tried
        with self.desk.db.unit_of_work(read_only=True) as uow:  # one look at the queue for everyone idle
            queue = uow.cases.search(CaseFilter(status=WORKABLE), limit=200)
        taken: set[str] = set()
        for worker in idle:
            case = self._pick(worker, [c for c in queue if c.id not in taken])
            if case is not None:
                taken.add(case.id)
                self._take(worker, case, now)
                tried = True
        return tried

    @staticmethod
    def _pick(worker: Worker, queue: list[Case]) -> Case | None:
        """Their own case first (the queue is due-first), else one their team owns (any team's, for
        someone in no team of ``opsdesk.yaml``; none, for a manager)."""
        mine = next((c for c in queue if c.owner == worker.name), None)
        if mine is not None or worker.manager:
            return mine
        teams = {f"team:{t}" for t in worker.teams}
        anyone = not worker.teams
        return next((c for c in queue if c.owner in teams or (anyone and _team(c.owner))), None)

    def _take(self, worker: Worker, case: Case, now: datetime) -> None:
        with self.desk.db.unit_of_work() as uow:
            try:
                for action, params in _taking(case, worker.name):
                    act(uow, case.id, action, worker.name, now, self.desk.case_hooks, **params)
                uow.commit()
            except (Conflict, InvalidInput) as exc:
                self.stats.conflicts += 1
                self.stats.refused.append(f"{case.id}: {exc}")
                return
        self.stats.claimed += 1
        minutes = self.rng.expovariate(1 / max(self.staffing.pace.total_seconds() / 60, 0.1))
        worker.case_id, worker.busy_until = case.id, now + timedelta(minutes=max(minutes, 1.0))

    def _resolve(self, worker: Worker, now: datetime) -> None:
        case_id, worker.case_id, worker.busy_until = worker.case_id, None, None
        assert case_id is not None
        with self.desk.db.unit_of_work() as uow:
            case = uow.cases.get(case_id)
            if not case.status.active or case.person != worker.name:
                return  # resolved or reassigned meanwhile (a return timer, a lead)
            for resolution in dict.fromkeys((choose_resolution(case), "no_action")):
                try:
                    act(
                        uow,
                        case_id,
                        "resolve",
                        worker.name,
                        now,
                        self.desk.case_hooks,
                        **resolution_params(case, resolution),
                        note="simulated",
                    )
                except InvalidInput as exc:
                    self.stats.refused.append(f"{case_id}: {exc}")
                    continue
                uow.commit()
                self.stats.resolved += 1
                worker.resolved += 1
                return


def choose_resolution(case: Case) -> str:
    """The resolution a competent person picks for ``case``: their kind's choice if the page offers it."""
    offered = {r.name for r in fitting_resolutions(case)}
    preferred = RESOLUTION_BY_KIND.get(case.kind, "no_action")
    return preferred if preferred in offered else "no_action"


def resolution_params(case: Case, resolution: str) -> dict[str, Any]:
    """What the case page fills in for ``resolution``: the discount the case names (the resolution reads
    a refund's amount from the case itself, and a discount known only by its code by that code)."""
    discount = str(case.detail.get("discount_id") or "")
    if resolution == "pause_discount" and discount:
        return {"resolution": resolution, "discount_id": discount}
    return {"resolution": resolution}


def _taking(case: Case, person: str) -> list[tuple[str, dict[str, Any]]]:
    """The moves that make ``case`` the person's and in progress: claim and start an open one; claim one
    in progress that its team holds (handed back by the return timer), as its page offers; one in progress
    already theirs needs none."""
    if case.status is not CaseStatus.IN_PROGRESS:
        return [("claim", {}), ("start", {})]
    return [] if case.person == person else [("claim", {})]


def _worker(desk: Desk, name: str) -> Worker:
    teams = desk.org.teams.values()
    works_in = tuple(t.name for t in teams if name in t.members or name == t.lead)
    manages = any(t.manager == name for t in teams)
    return Worker(name, works_in, manager=manages and not works_in)


def _team(owner: str | None) -> bool:
    return owner is not None and owner.startswith("team:")
