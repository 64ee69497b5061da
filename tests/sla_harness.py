"""What the SLA tests share: an organisation on a New York calendar and the case service's hooks for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsdesk.domain.calendar import BusinessCalendar
from opsdesk.domain.cases import Case
from opsdesk.domain.org import Org, Queue, Team
from opsdesk.domain.records import CaseRecord
from opsdesk.domain.sla import SlaPolicy
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.cases import CaseHooks, team_owner
from opsdesk.services.sla import make_sla_hooks

NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = {day: ((time(9), time(17)),) for day in range(5)}
SUPPORT_NY = BusinessCalendar("America/New_York", WEEKDAYS_9_TO_5)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def make_org(calendar: BusinessCalendar = SUPPORT_NY, **targets: timedelta) -> Org:
    """Queue ``support`` on policy ``standard``; team lead ``lee``, manager ``max``; queue ``misc`` has no SLA."""
    policy = SlaPolicy(
        "standard",
        calendar,
        targets or {"first_response": timedelta(hours=2), "resolution": timedelta(hours=8)},
        warn_at=(0.5, 0.8),
    )
    team = Team("support", members=("ann", "bob"), lead="lee", manager="max")
    return Org(
        teams={"support": team},
        queues={"support": Queue("support", "support", sla="standard"), "misc": Queue("misc", "support")},
        sla_policies={"standard": policy},
    )


def record(case_id: str, at: datetime, queue: str = "support", **detail: Any) -> CaseRecord:
    return CaseRecord(
        id=case_id, shop="shop.example", kind="refund", queue=queue, title="Refund", reason="asked",
        opened_at=at, detail=detail,
    )  # fmt: skip


def make_hooks(org: Org) -> CaseHooks:
    """The case service's hooks with the SLA clocks of ``org`` and its default ownership."""
    sla_start, sla_update = make_sla_hooks(org)
    return CaseHooks(owner_for=team_owner(org), sla_start=sla_start, sla_update=sla_update)


def in_transaction(db: Database, work: Callable[[UnitOfWork], Case]) -> Case:
    with db.unit_of_work() as uow:
        result = work(uow)
        uow.commit()
    return result
