"""The in-memory case repository, for ``opsdesk.testing``: cases numbered from the desk's sequence, one
active case per order and kind, their timelines. It works on the in-memory unit of work's ``cases``,
``cases_numbered`` and ``changes``, so it commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from opsdesk.domain.case_keys import key_number
from opsdesk.domain.cases import Case, CaseChange, CaseStatus, Changed, join_key
from opsdesk.domain.errors import Conflict, NotFound
from opsdesk.domain.queue_cursor import ENDED, QueueMark, queue_mark
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.testing_rows import as_stored, in_utc


class Tables(Protocol):
    cases: dict[str, Case]
    cases_numbered: int  # the desk's case number sequence: only grows, as PostgreSQL's
    changes: list[CaseChange]


class MemoryCases:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def open(self, case: CaseRecord) -> CaseRecord:
        if case.id in self.t.cases:
            return _record(self.t.cases[case.id])
        key = join_key(case.shop, case.order_id, case.kind, case.detail) if case.status != "closed" else None
        for existing in self.t.cases.values():
            if key is not None and existing.status.active and _key(existing) == key:
                return _record(existing)
        self.t.cases_numbered += 1
        stored = replace(in_utc(case), detail=as_stored(case.detail), number=self.t.cases_numbered)
        self.t.cases[case.id] = _full(stored)
        return replace(case, number=stored.number)

    def holding(self, prefix: str) -> list[CaseRecord]:
        held = (c for c in self.t.cases.values() if c.status.active and (_key(c) or "").startswith(prefix))
        return sorted((_record(c) for c in held), key=lambda c: c.id)

    def for_order(self, shop: str, order_id: int) -> list[CaseRecord]:
        return [
            _record(c)
            for c in sorted(
                (c for c in self.t.cases.values() if c.shop == shop and c.order_id == order_id),
                key=lambda c: (c.opened_at, c.id),
            )
        ]

    def for_orders(self, shop: str, order_ids: Iterable[int]) -> dict[int, list[CaseRecord]]:
        found = {order_id: self.for_order(shop, order_id) for order_id in set(order_ids)}
        return {order_id: cases for order_id, cases in found.items() if cases}

    def list_open(self, limit: int = 100) -> list[CaseRecord]:
        return [
            _record(c)
            for c in sorted(
                (c for c in self.t.cases.values() if c.status is not CaseStatus.CLOSED),
                key=lambda c: (c.opened_at, c.id),
            )[:limit]
        ]

    def keys(self, case_ids: Iterable[str]) -> dict[str, str]:
        return {c: self.t.cases[c].key for c in set(case_ids) if c in self.t.cases}

    def get(self, case_id: str) -> Case:
        found = self.t.cases.get(case_id)
        number = key_number(case_id) if found is None else None
        if number is not None:
            found = next((c for c in self.t.cases.values() if c.number == number), None)
        if found is None:
            raise NotFound(f"no case {case_id}")
        return found

    def save(self, changed: Changed, expected_version: int) -> bool:
        case = changed.case
        current = self.t.cases.get(case.id)
        if current is None or current.version != expected_version:
            return False
        key = join_key(case.shop, case.order_id, case.kind, case.detail)
        if case.status.active and not current.status.active and key is not None:
            for other in self.t.cases.values():
                if (
                    other.id != case.id
                    and other.status.active
                    and join_key(other.shop, other.order_id, other.kind, other.detail) == key
                ):
                    raise Conflict(f"another {case.kind} case is open for what case {case.id} is about")
        # As in SQL: a save leaves the deadline alone (``set_due`` moves it) until the case ends.
        due = current.due_at if case.status.active else None
        self.t.cases[case.id] = replace(case, detail=as_stored(case.detail), due_at=due)
        self.t.changes.append(
            replace(
                changed.change, before=as_stored(changed.change.before), after=as_stored(changed.change.after)
            )
        )
        return True

    def set_due(self, case_id: str, due_at: datetime | None) -> None:
        self.t.cases[case_id] = replace(self.t.cases[case_id], due_at=_utc_or_none(due_at))

    def timeline(self, case_id: str) -> list[CaseChange]:
        return [c for c in self.t.changes if c.case_id == case_id]

    def search(
        self, where: CaseFilter, limit: int = 50, offset: int = 0, after: QueueMark | None = None
    ) -> list[Case]:
        found = [c for c in self.t.cases.values() if _matches(c, where) and (after is None or _beyond(c, after))]
        far = datetime.max.replace(tzinfo=UTC)
        active = sorted((c for c in found if c.status.active),
                        key=lambda c: (c.due_at is None, c.due_at or far, c.opened_at, c.id))
        ended = sorted((c for c in found if not c.status.active), key=lambda c: (c.resolved_at or c.opened_at, c.id),
                       reverse=True)  # the latest ended first
        return [*active, *ended][offset : offset + limit]

    def count(self, where: CaseFilter) -> int:
        return sum(1 for c in self.t.cases.values() if _matches(c, where))


def _beyond(case: Case, after: QueueMark) -> bool:
    mark = queue_mark(case)
    if mark.run != after.run:
        return mark.run > after.run
    return mark.key < after.key if mark.run == ENDED else mark.key > after.key


def _matches(case: Case, where: CaseFilter) -> bool:
    if where.status:
        if case.status.value not in where.status:
            return False
    elif where.active_only and not case.status.active:
        return False
    pairs = (
        (case.queue, where.queue),
        (case.owner, where.owner),
        (case.kind, where.kind),
        (case.shop, where.shop),
    )
    if any(wanted is not None and value != wanted for value, wanted in pairs):
        return False
    return where.due_before is None or (case.due_at is not None and case.due_at < where.due_before)


def _full(record: CaseRecord) -> Case:
    return Case(
        id=record.id,
        shop=record.shop,
        kind=record.kind,
        queue=record.queue,
        title=record.title,
        reason=record.reason,
        opened_at=record.opened_at,
        status=CaseStatus(record.status),
        priority=record.priority,
        order_id=record.order_id,
        source=record.source,
        detail=record.detail,
        number=record.number,
    )


def _record(case: Case) -> CaseRecord:
    return case.as_record()


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _key(case: Case) -> str | None:
    return join_key(case.shop, case.order_id, case.kind, case.detail)
