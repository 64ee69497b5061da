"""The decisions taken, one a row with the inputs they were taken on: written once, read by order and by day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from opsdesk.domain.records import DecisionRecord
from opsdesk.storage import tables as t
from opsdesk.storage.bulk import _insert_ignore
from opsdesk.storage.codec import dumps, loads
from opsdesk.storage.fast import Fast

# Built once and run through SQLite's driver directly, as the statements of storage/deliveries.py are.
_DECIDED = Fast(select(t.decisions.c.id).where(t.decisions.c.id.in_(bindparam("ids", expanding=True))))


class SqlDecisions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def history(
        self, since: datetime, until: datetime | None, after: tuple[datetime, int, str] | None, limit: int
    ) -> list[DecisionRecord]:
        c = t.decisions.c
        delivery = func.coalesce(c.delivery_id, 0)
        query = select(t.decisions).where(*_taken(since, until))
        if after is not None:
            at, did, last = after
            later = or_(delivery > did, and_(delivery == did, c.id > last))
            query = query.where(or_(c.decided_at > at, and_(c.decided_at == at, later)))
        query = query.order_by(c.decided_at, delivery, c.id).limit(limit)
        return [_decision(r) for r in self._conn.execute(query).mappings()]

    def count_between(self, since: datetime, until: datetime | None) -> int:
        query = select(func.count()).select_from(t.decisions).where(*_taken(since, until))
        return int(self._conn.execute(query).scalar_one())

    def seen(self, ids: Iterable[str]) -> set[str]:
        wanted = list(set(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            found.update(_DECIDED.scalars(self._conn, {"ids": wanted[start : start + 500]}))
        return found

    def add_many(self, decisions: Sequence[DecisionRecord]) -> None:
        rows = [
            {
                "id": d.id,
                "shop": d.shop,
                "delivery_id": d.delivery_id,
                "order_id": d.order_id,
                "event_name": d.event_name,
                "event_key": d.event_key,
                "playbook": d.playbook,
                "rule_id": d.rule_id,
                "policy_version": d.policy_version,
                "outcome": d.outcome,
                "reason": d.reason,
                "inputs": dumps(d.inputs),
                "decided_at": d.decided_at,
            }
            for d in decisions
        ]
        _insert_ignore(self._conn, t.decisions, rows)

    def for_order(self, shop: str, order_id: int) -> list[DecisionRecord]:
        query = (
            select(t.decisions)
            .where(t.decisions.c.shop == shop, t.decisions.c.order_id == order_id)
            .order_by(t.decisions.c.decided_at, t.decisions.c.id)
        )
        return [
            DecisionRecord(
                r["id"],
                r["shop"],
                r["delivery_id"],
                r["order_id"],
                r["event_name"],
                r["event_key"],
                r["playbook"],
                r["rule_id"],
                r["policy_version"],
                r["outcome"],
                r["reason"],
                loads(r["inputs"]),
                r["decided_at"],
            )
            for r in self._conn.execute(query).mappings()
        ]

    def outcomes_by_day(self, since: datetime) -> dict[str, dict[str, int]]:
        c = t.decisions.c
        day = func.date(c.decided_at)
        query = select(day, c.outcome, func.count()).where(c.decided_at >= since).group_by(day, c.outcome)
        found: dict[str, dict[str, int]] = {}
        for when, outcome, count in self._conn.execute(query):
            found.setdefault(str(when)[:10], {})[outcome] = int(count)
        return found


def _taken(since: datetime, until: datetime | None) -> list[Any]:
    c = t.decisions.c
    return [c.decided_at >= since] if until is None else [c.decided_at >= since, c.decided_at < until]


def _decision(r: Any) -> DecisionRecord:
    return DecisionRecord(
        r["id"], r["shop"], r["delivery_id"], r["order_id"], r["event_name"], r["event_key"], r["playbook"],
        r["rule_id"], r["policy_version"], r["outcome"], r["reason"], loads(r["inputs"]), r["decided_at"],
    )
