"""What a readiness control measures over: settings, a read-only unit of work, the time, playbooks, people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from opsdesk.config import Settings
from opsdesk.domain.org import Org
from opsdesk.domain.policies import Playbook
from opsdesk.domain.readiness import Control
from opsdesk.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    uow: UnitOfWork
    now: datetime
    playbooks: Sequence[Playbook]
    org: Org


ReadinessControl = Control[Context]

#: Where each control's fix is explained (an anchor per control id).
DOCS = "docs/reference/readiness.md"


def fix(control_id: str) -> str:
    return f"{DOCS}#{control_id}"
