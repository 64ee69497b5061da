"""The case records the case repository's contract tests open, and how they move and read them back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from opsdesk.domain.cases import Case, Changed
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.ports import Database, UnitOfWork
from tests.contract.transactions import read, write

R = TypeVar("R")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = "alpha.myshopify.com"
ORDER = 820_982_911_946_154_508  # beyond float precision


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def record(case_id: str, **changes: Any) -> CaseRecord:
    base = CaseRecord(id=case_id, shop=SHOP, kind="refund", queue="refunds", title=f"case {case_id}",
                      reason="refund over the cap", opened_at=T0, order_id=ORDER, source="decision:d1",
                      detail={"amount": "60.00"})
    return replace(base, **changes)


def opened(db: Database, *records: CaseRecord) -> list[Case]:
    write(db, lambda uow: [uow.cases.open(r) for r in records])
    return [read(db, lambda uow, r=r: uow.cases.get(r.id)) for r in records]


def apply(db: Database, case_id: str, move: Callable[[Case], Changed]) -> tuple[bool, Case]:
    """Apply a transition to the stored case and save it against the version read."""

    def work(uow: UnitOfWork) -> tuple[bool, Case]:
        case = uow.cases.get(case_id)
        return uow.cases.save(move(case), expected_version=case.version), case

    return write(db, work)


def get(db: Database, case_id: str) -> Case:
    return read(db, lambda uow: uow.cases.get(case_id))


def ids(db: Database, where: CaseFilter, limit: int = 50, offset: int = 0) -> list[str]:
    return [c.id for c in read(db, lambda uow: uow.cases.search(where, limit, offset))]
