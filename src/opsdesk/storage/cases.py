"""Cases: opening (one open case per order and kind), transitions guarded by version, the queue."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, select, true, update
from sqlalchemy import case as sql_case

from opsdesk.domain.case_keys import key_number, key_or_id
from opsdesk.domain.cases import Case, CaseChange, Changed, join_key
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.queue_cursor import QueueMark
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.case_queue import ENDED, RUNS, Run, _filtered, _statuses
from opsdesk.storage.case_rows import _full, _record
from opsdesk.storage.codec import dumps, loads

_C = t.cases.c
# Built once: the timers and the pipeline open, read and move cases thousands of times a simulated day.
_FOR_ORDER = (
    select(t.cases)
    .where(_C.shop == bindparam("shop"), _C.order_id == bindparam("order_id"))
    .order_by(_C.opened_at, _C.id)
)
_FOR_ORDERS = (
    select(t.cases)
    .where(_C.shop == bindparam("shop"), _C.order_id.in_(bindparam("order_ids", expanding=True)))
    .order_by(_C.opened_at, _C.id)
)
_BY_ID = select(t.cases).where(_C.id == bindparam("case_id"))
_BY_NUMBER = select(t.cases).where(_C.number == bindparam("number"))
_NUMBERS = select(_C.id, _C.number).where(_C.id.in_(bindparam("case_ids", expanding=True)))
_SET_NUMBER = update(t.cases).where(_C.id == bindparam("case_id")).values(number=bindparam("b_number"))
_NEXT_ON_POSTGRES = select(t.CASE_NUMBERS.next_value())
_S = t.sequences.c
_NEXT_ON_SQLITE = (
    update(t.sequences).where(_S.name == "case_number").values(value=_S.value + 1).returning(_S.value)
)
_SET_DUE = update(t.cases).where(_C.id == bindparam("case_id")).values(due_at=bindparam("b_due_at"))
_SAVED = (
    "status", "owner", "version", "updated_at", "first_response_at", "resolved_at", "resolution",
    "escalation_level", "priority", "queue", "detail", "title",
)
_SAVE = update(t.cases).where(_C.id == bindparam("w_id"), _C.version == bindparam("w_version"))
#: An active case keeps the open key it holds (one opened before ``join_key`` knew its kind holds none, and
#: takes none: another may hold it now); an ended one gives it up; one reopened takes it again, or conflicts.
_KEEP_OR_RETAKE_KEY = sql_case(
    (and_(_C.open_key.is_(None), _C.status.in_(["resolved", "closed"])), bindparam("v_open_key")),
    else_=_C.open_key,
)
_SAVE_ACTIVE = _SAVE.values(
    {**{name: bindparam(f"v_{name}", type_=_C[name].type) for name in _SAVED}, "open_key": _KEEP_OR_RETAKE_KEY}
)
_SAVE_ENDED = _SAVE.values(
    {**{name: bindparam(f"v_{name}", type_=_C[name].type) for name in (*_SAVED, "due_at")}, "open_key": None}
)
_ADD_CHANGE = t.case_changes.insert()


def _open_key(shop: str, order_id: int | None, kind: str, active: bool, detail: Mapping[str, Any]) -> str | None:
    # Only an open case holds the key: a closed one must not stand in for the open case of its kind.
    return join_key(shop, order_id, kind, detail) if active else None


class SqlCases:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def open(self, case: CaseRecord) -> CaseRecord:
        # Only an open case holds the key: a closed one must not stand in for the open case of its kind.
        open_key = _open_key(case.shop, case.order_id, case.kind, case.status != "closed", case.detail)
        row = {
            "id": case.id,
            "shop": case.shop,
            "kind": case.kind,
            "queue": case.queue,
            "title": case.title,
            "reason": case.reason,
            "order_id": case.order_id,
            "source": case.source,
            "priority": case.priority,
            "status": case.status,
            "detail": dumps(case.detail),
            "opened_at": case.opened_at,
            "open_key": open_key,
        }
        if bulk.write(self._conn, t.cases, [row]) == 1:
            return replace(case, number=self._number(case.id))
        # Not inserted: this very case is stored already, or another open case holds the key.
        existing = self._first(t.cases.c.id == case.id)
        if existing is None and open_key is not None:
            existing = self._first(t.cases.c.open_key == open_key)
        return existing or case

    def holding(self, prefix: str) -> list[CaseRecord]:
        # A range on the key's index (``LIKE`` would read a shop's underscores as patterns): from the prefix to the
        # first text after all that begin with it.
        if not prefix:
            raise ValueError("a join key prefix is not empty")
        key, after = t.cases.c.open_key, prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._conn.execute(select(t.cases).where(key >= prefix, key < after).order_by(t.cases.c.id)).mappings()
        return [_record(r) for r in rows]

    def _number(self, case_id: str) -> int:
        """Give a case just stored the next number of the desk's sequence (only a new row takes one: a
        repeated signal that joins an open case leaves no gap)."""
        postgres = self._conn.dialect.name == "postgresql"
        number = int(self._conn.execute(_NEXT_ON_POSTGRES if postgres else _NEXT_ON_SQLITE).scalar_one())
        self._conn.execute(_SET_NUMBER, {"case_id": case_id, "b_number": number})
        return number

    def _first(self, where: ColumnElement[bool]) -> CaseRecord | None:
        row = self._conn.execute(select(t.cases).where(where)).mappings().first()
        return _record(row) if row else None

    def for_order(self, shop: str, order_id: int) -> list[CaseRecord]:
        rows = self._conn.execute(_FOR_ORDER, {"shop": shop, "order_id": order_id}).mappings()
        return [_record(r) for r in rows]

    def for_orders(self, shop: str, order_ids: Iterable[int]) -> dict[int, list[CaseRecord]]:
        wanted = sorted(set(order_ids))
        found: dict[int, list[CaseRecord]] = {}
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per order
            params = {"shop": shop, "order_ids": wanted[start : start + 500]}
            for row in self._conn.execute(_FOR_ORDERS, params).mappings():
                found.setdefault(row["order_id"], []).append(_record(row))
        return found

    def list_open(self, limit: int = 100) -> list[CaseRecord]:
        query = (
            select(t.cases)
            .where(t.cases.c.status != "closed")
            .order_by(t.cases.c.opened_at, t.cases.c.id)
            .limit(limit)
        )
        return [_record(r) for r in self._conn.execute(query).mappings()]

    def keys(self, case_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(case_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per case
            rows = self._conn.execute(_NUMBERS, {"case_ids": wanted[start : start + 500]})
            found.update((case_id, key_or_id(number, case_id)) for case_id, number in rows)
        return found

    def get(self, case_id: str) -> Case:
        row = self._conn.execute(_BY_ID, {"case_id": case_id}).mappings().first()
        if row is None and (number := key_number(case_id)) is not None:
            row = self._conn.execute(_BY_NUMBER, {"number": number}).mappings().first()
        if row is None:
            raise NotFound(f"no case {case_id}")
        return _full(row)

    def save(self, changed: Changed, expected_version: int) -> bool:
        case, change = changed.case, changed.change
        values = {
            "status": case.status.value,
            "owner": case.owner,
            "version": case.version,
            "updated_at": case.updated_at,
            "first_response_at": case.first_response_at,
            "resolved_at": case.resolved_at,
            "resolution": case.resolution,
            "escalation_level": case.escalation_level,
            "priority": case.priority,
            "queue": case.queue,
            "detail": dumps(case.detail),
            "open_key": _open_key(case.shop, case.order_id, case.kind, case.status.active, case.detail),
            "title": case.title,
        }
        if not case.status.active:
            values["due_at"] = None
        stmt = _SAVE_ACTIVE if case.status.active else _SAVE_ENDED
        params = {f"v_{name}": value for name, value in values.items()}
        params.update(w_id=case.id, w_version=expected_version)
        try:
            with self._conn.begin_nested():
                written = self._conn.execute(stmt, params).rowcount == 1
        except Exception as exc:
            if "open_key" in str(exc) or "UNIQUE" in str(exc).upper():
                raise Conflict(f"another {case.kind} case is open for what case {case.id} is about") from exc
            raise
        if written:
            self._conn.execute(
                _ADD_CHANGE,
                {
                    "case_id": change.case_id,
                    "at": change.at,
                    "actor": change.actor,
                    "kind": change.kind,
                    "before": dumps(change.before),
                    "after": dumps(change.after),
                    "note": change.note,
                },
            )
        return written

    def set_due(self, case_id: str, due_at: datetime | None) -> None:
        self._conn.execute(_SET_DUE, {"case_id": case_id, "b_due_at": due_at})

    def timeline(self, case_id: str) -> list[CaseChange]:
        c = t.case_changes.c
        query = select(t.case_changes).where(c.case_id == case_id).order_by(c.id)
        return [
            CaseChange(
                r["case_id"], r["at"], r["actor"], r["kind"], loads(r["before"]), loads(r["after"]), r["note"]
            )
            for r in self._conn.execute(query).mappings()
        ]

    def search(
        self, where: CaseFilter, limit: int = 50, offset: int = 0, after: QueueMark | None = None
    ) -> list[Case]:
        # Active cases: deadlines first, soonest first; then those with no running deadline, oldest first. Ended
        # (resolved, closed) cases after them, the latest ended first: resolved work is looked at from the latest.
        # One ORDER BY over several statuses would sort every matching row (100,000 open cases: ~300 ms).
        # Per status, the (status, due_at) indexes give the rows already in deadline order, so each
        # status reads only its first rows and the sorted runs are merged here. After a mark (ADR 0059), the runs
        # before the mark's are skipped and the mark's own starts after its key.
        wanted = offset + limit
        found: list[Any] = []
        for number, run in enumerate(RUNS):
            if after is not None and number < after.run:
                continue
            if len(found) < wanted:
                key = after.key if after is not None and number == after.run else None
                found += self._leading(where, wanted - len(found), run, key)
        return [_full(r) for r in found[offset:wanted]]

    def _leading(self, where: CaseFilter, n: int, run: Run, key: tuple[Any, ...] | None = None) -> list[Any]:
        """The first ``n`` matching rows of one run of the queue (after ``key``), in queue order, over the run's
        statuses."""
        statuses = [s for s in _statuses(where) if (s in ENDED) == run.ended]
        beyond = run.beyond(key) if key is not None else true()
        runs = [
            self._conn.execute(
                _filtered(select(t.cases), replace(where, status=(s,)))
                .where(run.has, beyond)
                .order_by(*run.order)
                .limit(n)
            )
            .mappings()
            .all()
            for s in statuses
        ]
        return list(islice(heapq.merge(*runs, key=run.key, reverse=run.ended), n))

    def count(self, where: CaseFilter) -> int:
        query = _filtered(select(func.count()).select_from(t.cases), where)
        return int(self._conn.execute(query).scalar_one())
