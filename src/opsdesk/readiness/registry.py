"""Which controls run: the built-in twelve, plus a store's own, minus skipped ones; and running them."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

from opsdesk.config import ReadinessConfig, Settings
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org
from opsdesk.domain.policies import Playbook
from opsdesk.domain.readiness import Control, Result, judge
from opsdesk.ports import UnitOfWork
from opsdesk.readiness import store, sweeps, work
from opsdesk.readiness.context import Context, ReadinessControl
from opsdesk.yamldoc import InvalidField, InvalidFields

ENTRY_POINT_GROUP = "opsdesk.readiness"

#: The controls of product.md §F, in the checklist's order; then the desk's own intake (ADR 0010, amended).
_ORDER = (
    "order-owners",
    "delayed-fulfilment-follow-ups",
    "inventory-synced",
    "returns-policy-accessible",
    "support-can-read-orders",
    "fraud-rules-reviewed",
    "packaging-stocked",
    "pickup-times-documented",
    "refunds-within-48h",
    "site-speed-monitored",
    "automations-owned",
    "webhooks-reconciled",
)


def builtin_controls() -> list[ReadinessControl]:
    by_id = {c.id: c for c in (*work.CONTROLS, *store.CONTROLS, *sweeps.CONTROLS)}
    return [by_id[i] for i in _ORDER]


def _controls_of(target: Any, origin: str) -> list[ReadinessControl]:
    """A plugin's controls: a ``Control``, or a callable returning one or an iterable of them."""
    found = target() if callable(target) and not isinstance(target, Control) else target
    items = [found] if isinstance(found, Control) else list(found) if isinstance(found, Iterable) else [found]
    if not items or not all(isinstance(c, Control) for c in items):
        raise InvalidInput(f"readiness control {origin}: expected a Control or a callable returning Controls")
    return items


def _import(path: str) -> Any:
    module, _, attribute = path.partition(":")
    if not module or not attribute:
        raise InvalidInput(f"readiness control {path!r}: write it as 'package.module:attribute'")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"readiness control {path!r} cannot be loaded: {exc}") from exc


def load_controls(config: ReadinessConfig) -> list[ReadinessControl]:
    """Built-in controls, then entry points, then ``readiness.controls``; skipped ones left out.

    Thresholds and skips that name no known control are refused, so a typo is never silently ignored.
    """
    controls = builtin_controls()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        controls += _controls_of(ep.load(), f"entry point {ep.name}")
    for path in config.controls:
        controls += _controls_of(_import(path), repr(path))
    by_id: dict[str, ReadinessControl] = {}
    for control in controls:
        if control.id in by_id:
            raise InvalidInput(f"two readiness controls are named {control.id!r}")
        by_id[control.id] = control
    _check_names(config, by_id)
    return [c for c in controls if c.id not in config.skip]


def _check_names(config: ReadinessConfig, by_id: dict[str, ReadinessControl]) -> None:
    """Each skip and threshold names a known control, and each threshold one of its control's; refused at the field
    (a threshold's key) where it is written (``yamldoc.located``), all of them at once."""
    found = [InvalidField(["readiness", "skip", i], f"unknown control {name!r} (known: {', '.join(by_id)})")
             for i, name in enumerate(config.skip) if name not in by_id]
    for name, values in config.thresholds.items():
        keys: list[str | int] = ["readiness", "thresholds", name]
        if name not in by_id:
            found.append(InvalidField(keys, f"unknown control {name!r} (known: {', '.join(by_id)})", of_key=True))
            continue  # a control nobody knows has no thresholds to name
        known = ", ".join(by_id[name].defaults)
        found += [InvalidField([*keys, value], f"unknown {value!r} (known: {known})", of_key=True)
                  for value in values if value not in by_id[name].defaults]
    InvalidFields.refuse(found)


@dataclass(frozen=True, slots=True)
class Report:
    at: datetime
    results: tuple[Result, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "passed": self.passed,
            "failed": [r.control for r in self.results if not r.passed],
            "controls": [r.as_dict() for r in self.results],
        }


def check(
    settings: Settings,
    uow: UnitOfWork,
    now: datetime,
    playbooks: Sequence[Playbook],
    org: Org,
    controls: Sequence[ReadinessControl] | None = None,
) -> Report:
    """Measure every control over one read-only unit of work."""
    ctx = Context(settings, uow, now, playbooks, org)
    chosen = load_controls(settings.file.readiness) if controls is None else controls
    thresholds = settings.file.readiness.thresholds
    return Report(now, tuple(judge(c, ctx, thresholds.get(c.id, {})) for c in chosen))

