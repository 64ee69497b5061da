"""Every problem of ``opsdesk.yaml`` found after it was read, at once, for ``opsdesk check``: the organisation's
cross-references, the discount guard's and the warehouses' names, the readiness settings and the shops' default
owners (ADR 0060, session 15 (2)). Each is a ``yamldoc.InvalidField``; ``yamldoc.located`` gives them their lines.

The runtime (``app.build``) runs the same checks where it wires the desk and refuses to start on any of them, except
a default owner nobody is, which ``serve`` and ``worker`` warn about and start (ADR 0060, session 14)."""

from __future__ import annotations

from datetime import datetime

from opsdesk.config import FileConfig, Settings
from opsdesk.config_discounts_pickups import build_guard_policy, build_warehouses
from opsdesk.domain.org import Org
from opsdesk.organisation import read_org
from opsdesk.readiness.registry import load_controls
from opsdesk.yamldoc import InvalidField, gathered


def configuration_problems(settings: Settings, now: datetime) -> list[InvalidField]:
    """What ``opsdesk check`` refuses (exit 2) before it measures anything, every problem and not only the first."""
    org, found = read_org(settings.file, now)
    with gathered(found):
        build_guard_policy(settings.file.discount_guard)
    with gathered(found):
        build_warehouses(settings.warehouses, now, people=frozenset(org.people))
    with gathered(found):
        load_controls(settings.file.readiness)
    return found + unknown_default_owners(org, settings.file)


def unknown_default_owners(org: Org, file: FileConfig) -> list[InvalidField]:
    """Each shop whose ``default_owner`` is no person or team of the organisation: every new order of the shop would
    go to a name nobody is told about (readiness's ``order-owners`` fails on it later)."""
    return [InvalidField(["shops", i, "default_owner"],
                         f"no person or team {owner!r} ({org.unknown_owner(owner)}): the shop's new orders would go "
                         "to a name nobody is told about")
            for i, shop in enumerate(file.shops) if (owner := shop.default_owner) and not org.knows_owner(owner)]
