"""Simulated people working the queue: during their shift each takes the next case (their own first,
then their team's), works it for a while drawn around the scenario's pace, and resolves it.

They act through the same case service as the CLI and the API (claim, start, resolve), so their work
is timed by the SLA clocks like anyone's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsdesk.desk import Desk
from opsdesk.domain.cases import Case
from opsdesk.domain.errors import Conflict, InvalidInput
from opsdesk.domain.records import CaseFilter
from opsdesk.services.cases import act
from opsdesk.simulator.scenario import Staffing

#: What a person decides for a case of each kind; ``no_action`` when the preferred one cannot apply.
RESOLUTION_BY_KIND = {
    "refund": "approve_refund",
    "return": "approve_refund",
    "discount": "pause_discount",
    "dispute": "no_action",
}


@dataclass(slots=True)
class Worker:
    name: str
    teams: tuple[str, ...]
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
        self.desk, self.staffing, self.day_start, self.rng = desk, staffing, day_start, rng
        self.workers = [
            Worker(n, tuple(t.name for t in desk.org.teams.values() if n in t.members or n == t.lead))
            for n in names
        ]
        self.stats = PeopleStats()

    def on_shift(self, at: datetime) -> bool:
        local = (at - self.day_start) % timedelta(days=1)
        start, end = self.staffing.shift
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
            queue = uow.cases.search(CaseFilter(status=("open", "assigned")), limit=200)
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
        someone in no team of ``opsdesk.yaml``)."""
        mine = next((c for c in queue if c.owner == worker.name), None)
        teams = {f"team:{t}" for t in worker.teams}
        anyone = not worker.teams
        return mine or next((c for c in queue if c.owner in teams or (anyone and _team(c.owner))), None)

    def _take(self, worker: Worker, case: Case, now: datetime) -> None:
        with self.desk.db.unit_of_work() as uow:
            try:
                act(uow, case.id, "claim", worker.name, now, self.desk.case_hooks)
                act(uow, case.id, "start", worker.name, now, self.desk.case_hooks)
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
            for resolution in dict.fromkeys((RESOLUTION_BY_KIND.get(case.kind, "no_action"), "no_action")):
                try:
                    act(
                        uow,
                        case_id,
                        "resolve",
                        worker.name,
                        now,
                        self.desk.case_hooks,
                        resolution=resolution,
                        note="simulated",
                    )
                except InvalidInput as exc:
                    self.stats.refused.append(f"{case_id}: {exc}")
                    continue
                uow.commit()
                self.stats.resolved += 1
                worker.resolved += 1
                return


def _team(owner: str | None) -> bool:
    return owner is not None and owner.startswith("team:")
