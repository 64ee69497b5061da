"""What a simulated run is driven by and reports: its virtual clock, its source of deliveries, the faults it can
switch, and its counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from opsdesk.services.pipeline_batch import BatchReport
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.store import Delivery
from opsdesk.simulator.truth import IncidentTruth, Truth

#: Faults the runner can switch during an incident: incident kind -> switch(on, the incident's params).
Faults = Mapping[str, Callable[[bool, Mapping[str, Any]], None]]
Progress = Callable[[float, str], None]


class Source(Protocol):
    """What the runner reads of a store: a ``Store``, or one generating in another process."""

    s: Scenario
    #: the incidents' windows and params, read for the faults and the clock's jumps
    truth: Truth

    def __iter__(self) -> Iterator[Delivery]: ...


class VirtualClock:
    """The simulation's clock: it moves only when the runner moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


@dataclass(slots=True)
class RunStats:
    deliveries: int = 0
    refused: int = 0
    pipeline: BatchReport = field(default_factory=BatchReport)
    timers_fired: int = 0
    actions_claimed: int = 0
    ticks: int = 0
    #: the most active cases without any owner seen at once, sampled after every tick
    max_unowned: int = 0
    unowned_samples: int = 0
    faults: list[str] = field(default_factory=list)
    #: what the simulated people did: cases claimed, resolved, and refused moves (conflicts)
    people: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class Peek:
    """A stream of deliveries in time order, taken up to a time; ``head`` is the next one not taken."""

    def __init__(self, items: Iterator[Delivery]) -> None:
        self._items, self.head = items, next(items, None)

    def until(self, when: datetime) -> list[Delivery]:
        taken = []
        while self.head is not None and self.head.at <= when:
            taken.append(self.head)
            self.head = next(self._items, None)
        return taken


def switch_faults(
    incidents: Iterable[IncidentTruth], faults: Faults, on: set[str], now: datetime, log: list[str]
) -> None:
    """Switch each incident's fault on inside its window and off after it (``on``: the keys of those on); each
    switch is logged in ``log``."""
    for incident in incidents:
        switch = faults.get(incident.kind)
        inside = incident.start <= now < incident.end
        key = f"{incident.kind}@{incident.start.isoformat()}"
        if switch is None:
            continue
        if inside and key not in on:
            switch(True, incident.params)
            on.add(key)
            log.append(f"{now.isoformat()} {incident.kind} on")
        elif not inside and key in on:
            switch(False, incident.params)
            on.discard(key)
            log.append(f"{now.isoformat()} {incident.kind} off")
