"""The case queue's filter and order: which rows a ``CaseFilter`` selects, and how the queue's runs merge.

``SqlCases.search`` reads each status's first rows of each run (``RUNS``) in its order, or those after a mark's key
(``Run.beyond``, ADR 0059), and merges them by its key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, true, tuple_

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.storage import tables as t


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the queue's order: which rows it holds (``has``, over ``ended`` or active statuses), the
    ``columns`` it is sorted by in SQL (descending when ``ended``) and the same ``key`` for merging the statuses'
    runs."""

    has: ColumnElement[bool]
    columns: tuple[Any, ...]
    key: Callable[[Any], tuple[Any, ...]]
    ended: bool = False

    @property
    def order(self) -> tuple[Any, ...]:
        return tuple(c.desc() for c in self.columns) if self.ended else self.columns

    def beyond(self, key: tuple[Any, ...]) -> ColumnElement[bool]:
        """The rows after ``key`` in the run's order (ADR 0059). The bound on the first column, implied by the
        row comparison, is what lets the run's index start there rather than at its first row."""
        lead, values = self.columns[0], tuple(literal(v, c.type) for v, c in zip(key, self.columns, strict=True))
        if self.ended:
            return and_(lead <= values[0], tuple_(*self.columns) < tuple_(*values))
        return and_(lead >= values[0], tuple_(*self.columns) > tuple_(*values))


def _by_due(r: Any) -> tuple[datetime, datetime, str]:
    return r["due_at"], r["opened_at"], r["id"]


def _by_age(r: Any) -> tuple[datetime, str]:
    return r["opened_at"], r["id"]


def _by_end(r: Any) -> tuple[datetime, str]:
    # A case stored already closed (never resolved by the desk) ended when it was opened.
    return r["resolved_at"] or r["opened_at"], r["id"]


_C = t.cases.c
ENDED = frozenset(s.value for s in CaseStatus if not s.active)
#: The queue in order: active cases with a running deadline (soonest first), active ones without (oldest first),
#: then ended ones, the latest ended first.
RUNS = (
    Run(_C.due_at.is_not(None), (_C.due_at, _C.opened_at, _C.id), _by_due),
    Run(_C.due_at.is_(None), (_C.opened_at, _C.id), _by_age),
    Run(true(), (func.coalesce(_C.resolved_at, _C.opened_at), _C.id), _by_end, ended=True),
)


def _statuses(where: CaseFilter) -> tuple[str, ...]:
    if where.status:
        return tuple(dict.fromkeys(where.status))
    return tuple(s.value for s in CaseStatus if s.active or not where.active_only)


def _filtered(query: Select[Any], where: CaseFilter) -> Select[Any]:
    c = t.cases.c
    conditions: list[ColumnElement[bool]] = []
    if where.status:
        conditions.append(c.status.in_(where.status))
    elif where.active_only:
        conditions.append(c.status.in_([s.value for s in CaseStatus if s.active]))
    for column, value in (
        (c.queue, where.queue),
        (c.owner, where.owner),
        (c.kind, where.kind),
        (c.shop, where.shop),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.due_before is not None:
        conditions.append(c.due_at < where.due_before)
    return query.where(*conditions)
