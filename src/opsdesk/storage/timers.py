"""Durable timers: rows with a due time, leased to one sweeper, fired once inside a transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, literal_column, or_, select, tuple_, update

from opsdesk.domain.records import Timer, TimerMark
from opsdesk.storage import bulk
from opsdesk.storage import tables as t
from opsdesk.storage.codec import dumps, loads
from opsdesk.storage.fast import Fast

PENDING = "pending"
#: Timers whose row is history only: nothing reads them again (a timer scheduled again is written anew).
DONE = ("fired", "cancelled")
_C = t.timers.c
# Built once, since a sweep runs them every poll. The partial index on pending rows keeps the claim a
# short range scan however many timers wait; 'pending' is a literal so that PostgreSQL's generic plan
# for the prepared statement can use that index too (a bound parameter would hide the value from it).
# The statements a sweep or a drain runs every round go through ``Fast`` (storage/fast.py): on SQLite,
# SQLAlchemy's own execution path cost several times SQLite's work for these small keyed statements.
CLAIMABLE = (
    select(t.timers)
    .where(
        _C.status == literal_column("'pending'"),
        _C.due_at <= bindparam("now"),
        or_(_C.lease_until.is_(None), _C.lease_until < bindparam("now")),
    )
    .order_by(_C.due_at, _C.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
#: The earliest timer a claim at ``now`` could take: a short walk along the same partial index.
NEXT_DUE = (
    select(_C.due_at)
    .where(
        _C.status == literal_column("'pending'"),
        or_(_C.lease_until.is_(None), _C.lease_until < bindparam("now")),
    )
    .order_by(_C.due_at)
    .limit(1)
)
_LEASE = (
    update(t.timers)
    .where(_C.id.in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("worker"), lease_until=bindparam("until"))
)
#: Built once too (each is run thousands of times a simulated day): building a statement per call cost
#: more than SQLite running it.
_PENDING_OF = (
    select(t.timers)
    .where(_C.subject == bindparam("subject"), _C.status == PENDING)
    .order_by(_C.due_at, _C.id)
)
_PENDING_OF_MANY = (
    select(t.timers)
    .where(_C.subject.in_(bindparam("subjects", expanding=True)), _C.status == PENDING)
    .order_by(_C.due_at, _C.id)
)
_CANCEL = (
    update(t.timers).where(_C.subject == bindparam("b_subject"), _C.status == PENDING).values(status="cancelled")
)
_CANCEL_KINDS = _CANCEL.where(_C.kind.in_(bindparam("kinds", expanding=True)))
_CANCEL_MANY = (
    update(t.timers)
    .where(_C.subject.in_(bindparam("subjects", expanding=True)), _C.status == PENDING)
    .values(status="cancelled")
    .returning(_C.subject)
)
_CANCEL_MANY_KINDS = _CANCEL_MANY.where(_C.kind.in_(bindparam("kinds", expanding=True)))
_FIRED = (
    update(t.timers)
    .where(_C.id == bindparam("timer_id"), _C.lease_owner == bindparam("worker"), _C.status == PENDING)
    .values(
        lease_owner=None, lease_until=None, attempts=_C.attempts + 1, status="fired", fired_at=bindparam("at")
    )
)


#: The condition of the partial index, as written there: an index serves only a query that names it so.
_IS_DONE = t.TIMER_DONE
#: The retention sweep's page: done timers due before the horizon, along ``ix_timers_done`` (due time, id; a
#: partial index of the done rows, migration 0010) from the last one read. It reads only rows it deletes.
_DONE_PAGE = (
    select(_C.id, _C.due_at)
    .where(
        _IS_DONE,
        _C.due_at < bindparam("before", type_=_C.due_at.type),
        tuple_(_C.due_at, _C.id) > tuple_(bindparam("after_due", type_=_C.due_at.type), bindparam("after_id")),
    )
    .order_by(_C.due_at, _C.id)
    .limit(bindparam("limit"))
)
#: Still done when deleted: a timer another worker scheduled again since the page was read is pending.
_REMOVE_TIMERS = delete(t.timers).where(_C.id.in_(bindparam("ids", expanding=True)), _IS_DONE)
#: Where a sweep of the done timers starts: before any due time.
_START: TimerMark = (datetime(1970, 1, 1, tzinfo=UTC), "")


_CLAIMABLE, _NEXT_DUE = Fast(CLAIMABLE), Fast(NEXT_DUE)
_PAGE, _REMOVE = Fast(_DONE_PAGE), Fast(_REMOVE_TIMERS)
_LEASE_IDS, _FINISH = Fast(_LEASE), Fast(_FIRED)
_PENDING, _PENDING_MANY = Fast(_PENDING_OF), Fast(_PENDING_OF_MANY)
_CANCEL_ALL, _CANCEL_OF_KINDS = Fast(_CANCEL), Fast(_CANCEL_KINDS)
_CANCEL_SUBJECTS, _CANCEL_SUBJECTS_OF_KINDS = Fast(_CANCEL_MANY), Fast(_CANCEL_MANY_KINDS)
#: The timers a commit amends, locked in id order (PostgreSQL locks rows as the sorted scan returns them).
_LOCK_IDS = Fast(select(t.timers).where(_C.id.in_(bindparam("ids", expanding=True))).order_by(_C.id).with_for_update())


class SqlTimers:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        #: Amendments waiting for commit, by timer id: the timer to start from if none is pending, the changes.
        self._amends: dict[str, tuple[Timer, list[Callable[[Timer], Timer]]]] = {}

    def schedule(self, timers: Sequence[Timer]) -> None:
        # A timer scheduled again keeps its subject (indexed): written only where it changes.
        bulk.write(self._conn, t.timers, _rows(timers), upsert_on=("id",), stable=("subject",))

    def amend(self, timer: Timer, change: Callable[[Timer], Timer]) -> None:
        self._amends.setdefault(timer.id, (timer, []))[1].append(change)

    def flush(self) -> None:
        """Write the amendments gathered: rows made where missing, then locked and read, in id order; one upsert.

        Read only once locked, a row is as the last transaction to amend it left it: none of its changes is lost.
        """
        amends, self._amends = self._amends, {}
        if not amends:
            return
        ids = sorted(amends)
        bulk.write(self._conn, t.timers, _rows([amends[i][0] for i in ids]))  # so that every one can be locked
        locked = {r["id"]: _timer(r) for r in _LOCK_IDS.rows(self._conn, {"ids": ids})}
        starts = {i: locked[i] if locked[i].status == PENDING else amends[i][0] for i in ids}
        self.schedule([reduce(lambda timer, change: change(timer), amends[i][1], starts[i]) for i in ids])

    def cancel(self, subject: str, kinds: Iterable[str] = ()) -> int:
        wanted = list(kinds)
        if wanted:
            return _CANCEL_OF_KINDS.rowcount(self._conn, {"b_subject": subject, "kinds": wanted})
        return _CANCEL_ALL.rowcount(self._conn, {"b_subject": subject})

    def cancel_many(self, subjects: Iterable[str], kinds: Iterable[str] = ()) -> set[str]:
        wanted, of_kinds = sorted(set(subjects)), list(kinds)
        statement = _CANCEL_SUBJECTS_OF_KINDS if of_kinds else _CANCEL_SUBJECTS
        cancelled: set[str] = set()
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per subject
            params = {"subjects": wanted[start : start + 500], **({"kinds": of_kinds} if of_kinds else {})}
            cancelled.update(statement.scalars(self._conn, params))
        return cancelled

    def claim_due(self, now: datetime, limit: int, lease_until: datetime, worker: str) -> list[Timer]:
        params = {"now": now, "limit": limit}
        rows = _CLAIMABLE.rows(self._conn, params)
        if rows:
            ids = [r["id"] for r in rows]
            _LEASE_IDS.rowcount(self._conn, {"ids": ids, "worker": worker, "until": lease_until})
        return [_timer(r) for r in rows]

    def next_due_at(self, now: datetime) -> datetime | None:
        due: datetime | None = _NEXT_DUE.scalar(self._conn, {"now": now})
        return due

    def finish(
        self, timer_id: str, *, worker: str, at: datetime, error: str = "", retry_at: datetime | None = None
    ) -> bool:
        if not error:  # the common case, one prepared statement
            return _FINISH.rowcount(self._conn, {"timer_id": timer_id, "worker": worker, "at": at}) == 1
        c = t.timers.c
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "attempts": c.attempts + 1}
        if error:
            values.update(last_error=error, status=PENDING if retry_at else "failed")
            if retry_at:
                values["due_at"] = retry_at
        else:
            values.update(status="fired", fired_at=at)
        stmt = update(t.timers).where(c.id == timer_id, c.lease_owner == worker, c.status == PENDING)
        return self._conn.execute(stmt.values(**values)).rowcount == 1

    def pending(self, subject: str) -> list[Timer]:
        self._flush_for([subject])
        return [_timer(r) for r in _PENDING.rows(self._conn, {"subject": subject})]

    def pending_many(self, subjects: Iterable[str]) -> dict[str, list[Timer]]:
        wanted = sorted(set(subjects))
        self._flush_for(wanted)
        found: dict[str, list[Timer]] = {}
        for start in range(0, len(wanted), 500):  # one statement per chunk, not one per subject
            rows = _PENDING_MANY.rows(self._conn, {"subjects": wanted[start : start + 500]})
            for timer in map(_timer, rows):
                found.setdefault(timer.subject, []).append(timer)
        return found

    def _flush_for(self, subjects: Iterable[str]) -> None:
        """A read of a subject with amendments waiting sees them (only then are they written before commit)."""
        if self._amends and {base.subject for base, _ in self._amends.values()} & set(subjects):
            self.flush()

    def prune(self, after: TimerMark | None, limit: int, due_before: datetime) -> tuple[TimerMark | None, int, int]:
        due, last = after or _START
        rows = _PAGE.rows(self._conn, {"before": due_before, "after_due": due, "after_id": last, "limit": limit})
        removed = _REMOVE.rowcount(self._conn, {"ids": [r["id"] for r in rows]}) if rows else 0
        return ((rows[-1]["due_at"], rows[-1]["id"]) if len(rows) == limit else None), len(rows), removed

    def count(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(t.timers)
        if status is not None:
            query = query.where(t.timers.c.status == status)
        return int(self._conn.execute(query).scalar_one())


def _rows(timers: Sequence[Timer]) -> list[dict[str, Any]]:
    return [
        {
            "id": x.id,
            "kind": x.kind,
            "subject": x.subject,
            "due_at": x.due_at,
            "payload": dumps(x.payload),
            "status": PENDING,
            "attempts": 0,
            "lease_owner": None,
            "lease_until": None,
            "fired_at": None,
            "last_error": "",
        }
        # In id order: two batches upserting the same timers lock them in one order, never in each
        # other's (on PostgreSQL they deadlocked; ADR 0058).
        for x in sorted(timers, key=lambda x: x.id)
    ]


def _timer(r: Any) -> Timer:
    return Timer(
        id=r["id"],
        kind=r["kind"],
        subject=r["subject"],
        due_at=r["due_at"],
        payload=loads(r["payload"]),
        status=r["status"],
        attempts=r["attempts"],
        last_error=r["last_error"],
    )
