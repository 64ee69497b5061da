"""One unit of work around a piece of test code, committed (``write``) or not (``read``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from opsdesk.ports import Database, UnitOfWork

R = TypeVar("R")


def write(db: Database, work: Callable[[UnitOfWork], R]) -> R:
    with db.unit_of_work() as uow:
        result = work(uow)
        uow.commit()
    return result


def read(db: Database, work: Callable[[UnitOfWork], R]) -> R:
    with db.unit_of_work() as uow:
        return work(uow)
