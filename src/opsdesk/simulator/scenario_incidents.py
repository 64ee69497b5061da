"""A scenario's incidents: each of a known kind, at a time in the day, with its parameters in their ranges."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from opsdesk.simulator.incidents import INCIDENT_KINDS
from opsdesk.simulator.scenario_reader import Reader


@dataclass(frozen=True, slots=True)
class Incident:
    kind: str
    at: timedelta
    duration: timedelta
    params: dict[str, Any] = field(default_factory=dict)


def read_incidents(r: Reader, value: Any) -> tuple[Incident, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        r.problem(("incidents",), "expected a list of incidents")
        return None
    found = []
    for i, item in enumerate(value):
        incident = _incident(r, i, item)
        if incident is not None:
            found.append(incident)
    return tuple(found)


def _incident(r: Reader, i: int, item: Any) -> Incident | None:
    keys: tuple[str | int, ...] = ("incidents", i)
    if not isinstance(item, dict):
        r.problem(keys, "expected a mapping with kind, at and duration")
        return None
    kind = item.get("kind")
    spec = INCIDENT_KINDS.get(str(kind))
    if spec is None:
        r.problem(
            (*keys, "kind"), f"unknown incident kind {kind!r} (one of: {', '.join(sorted(INCIDENT_KINDS))})"
        )
        return None
    r.mapping(keys, item, {"kind", "at", "duration", *spec.params})
    at = r.duration((*keys, "at"), item.get("at"))
    duration = r.duration((*keys, "duration"), item.get("duration", "1h"))
    if "at" not in item:
        r.problem(keys, "an incident needs at: its time in the day, like 10:30")
    params = {**spec.params, **{k: v for k, v in item.items() if k in spec.params}}
    for name, default in spec.params.items():
        if not _same_type(params[name], default):
            r.problem((*keys, name), f"expected {type(default).__name__}, got {params[name]!r}")
        elif (wrong := _out_of_range(name, params[name])) is not None:
            r.problem((*keys, name), f"{wrong}, got {params[name]!r}")
    if at is None or duration is None:
        return None
    return Incident(str(kind), at, duration, params)


#: Incident parameters with bounds of their own; every other number is a count or a length: 0 or more.
_BOUNDS = {
    "share": (1.0, "a share between 0 and 1"),
    "uptake": (1.0, "a share between 0 and 1"),
    "percent": (100.0, "a percentage between 0 and 100"),
    "intended_percent": (100.0, "a percentage between 0 and 100"),
}


def _out_of_range(name: str, value: Any) -> str | None:
    """What a numeric incident parameter should have been, when it is out of its range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    top, what = _BOUNDS.get(name, (math.inf, "a number of 0 or more"))
    return None if 0 <= value <= top else f"expected {what}"


def _same_type(value: Any, default: Any) -> bool:
    """A parameter has its default's type (an integer stands for a float; a boolean for nothing else)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    return isinstance(value, type(default)) or (isinstance(default, float) and isinstance(value, int))
