"""The case queue's filter and order: which rows a ``CaseFilter`` selects, and how the queue's runs merge.

``SqlCases.search`` reads each status's first rows in deadline (or age) order and merges the runs by these keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.storage import tables as t


def _by_due(r: Any) -> tuple[datetime, datetime, str]:
    return r["due_at"], r["opened_at"], r["id"]


def _by_age(r: Any) -> tuple[datetime, str]:
    return r["opened_at"], r["id"]


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
