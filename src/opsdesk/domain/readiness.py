"""Readiness controls: what a control is, what it measured, and the evidence a store records for them.

A control measures one operational promise (every order has an owner, refunds within 48 hours, ...)
from configuration and live data, and judges it against thresholds a store may override. Its result
carries the numbers, the offending records and a pointer to the fix, so a failure explains itself.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

C = TypeVar("C")

#: At most this many offending records are listed per control; ``measured`` keeps the full count.
MAX_OFFENDERS = 20


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    #: The control itself broke (a plugin raised, data unreadable): counted as not passing.
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Offender:
    """A record that makes a control fail: an order, a case, a shop, a person, a playbook, a material."""

    kind: str
    id: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a control's measure function returns: the verdict, why, the numbers and the offenders."""

    ok: bool
    reason: str
    measured: Mapping[str, Any] = field(default_factory=dict)
    offending: tuple[Offender, ...] = ()


@dataclass(frozen=True, slots=True)
class Control(Generic[C]):
    """A readiness control over a context ``C``; ``defaults`` are its thresholds, overridable by name."""

    id: str
    title: str
    measured_as: str
    fix: str
    defaults: Mapping[str, float]
    measure: Callable[[C, Mapping[str, float]], Measurement]


@dataclass(frozen=True, slots=True)
class Result:
    control: str
    title: str
    status: Status
    reason: str
    measured: Mapping[str, Any]
    thresholds: Mapping[str, float]
    offending: tuple[Offender, ...]
    fix: str

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def as_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "title": self.title,
            "status": self.status.value,
            "reason": self.reason,
            "measured": dict(self.measured),
            "thresholds": dict(self.thresholds),
            "offending": [{"kind": o.kind, "id": o.id, "detail": o.detail} for o in self.offending],
            "fix": self.fix,
        }


def judge(control: Control[C], context: C, overrides: Mapping[str, float]) -> Result:
    """Run one control with its thresholds (defaults, then overrides); a control that raises is an error."""
    thresholds = {**control.defaults, **overrides}
    try:
        m = control.measure(context, thresholds)
    except Exception as exc:  # a broken control (often a store's plugin) must not hide the others
        m = Measurement(False, f"the control failed to measure: {type(exc).__name__}: {exc}")
        status = Status.ERROR
    else:
        status = Status.PASS if m.ok else Status.FAIL
    offending = m.offending[:MAX_OFFENDERS]
    return Result(control.id, control.title, status, m.reason, m.measured, thresholds, offending, control.fix)


@dataclass(frozen=True, slots=True)
class PolicyReview:
    """A person's recorded review of a playbook at a version (e.g. the weekly review of the risk rules)."""

    playbook: str
    version: str
    reviewer: str
    reviewed_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Probe:
    """One HTTP probe of a shop's page: ``kind`` is ``storefront`` or ``returns_policy``."""

    kind: str
    shop: str
    url: str
    at: datetime
    status_code: int | None = None
    elapsed_ms: int | None = None
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 400


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    """What fetching a page gave: the status code and time to answer, or why there was no answer."""

    status_code: int | None
    elapsed_ms: int | None
    error: str = ""
