"""Batched inserts and upserts: one mechanism for every repository, fast on SQLite.

On SQLite the rows go straight to the driver's ``executemany`` inside the unit of work's own
transaction: SQLAlchemy's per-row parameter processing cost more than SQLite's own work for the
pipeline's small rows. Values are converted exactly as the column types would store them, so rows
written either way read back the same. PostgreSQL goes through SQLAlchemy (``RETURNING`` counts the
new rows, which psycopg's ``executemany`` does not report).

SQLite writes a row that an UPDATE names, and the entries of every index whose columns it names, even
when the values stay the same; each page so dirtied is written to the WAL at commit and copied again by
the checkpoint, and index entries sit at random places (emails, hashed ids). So on SQLite an upsert
leaves a stored row that equals the new one alone (a timer armed again for the same time), and leaves
out its ``stable`` columns, indexed ones that rarely change (an order's name and email, a timer's
subject): a second statement writes those where they differ. PostgreSQL keeps the plain upsert: an
update that keeps every indexed value leaves its indexes alone there (HOT).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Boolean, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from opsdesk.storage.tables import UtcDateTime

Row = dict[str, Any]


def _utc_text(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DATETIME stores, so that rows written either way compare exactly.
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use timezone-aware UTC")
    return _instant_text(value)


@lru_cache(maxsize=4096)
def _instant_text(value: datetime) -> str:
    """Remembered: a batch's rows repeat the same few instants (its ``now``, an order's times), and the
    conversion costs ~2 µs. Equal aware datetimes are one instant whatever their zone, so one text."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


@cache
def _converters(table: Table, columns: tuple[str, ...]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """The positions of the columns whose values need converting, with their converters."""
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for position, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, UtcDateTime):
            found.append((position, _utc_text))
        elif isinstance(kind, Boolean):
            found.append((position, _flag))
    return tuple(found)


@cache
def _sqlite_statement(
    table: Table, columns: tuple[str, ...], keys: tuple[str, ...], update: bool, stable: tuple[str, ...] = ()
) -> str:
    placeholders = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT"
    if not update:
        return statement + " DO NOTHING"
    updated = [c for c in columns if c not in keys and c not in stable]
    if not updated:  # every other column is stable: the second statement writes what differs
        return statement + " DO NOTHING"
    changed = ", ".join(f"{c} = excluded.{c}" for c in updated)
    differs = " OR ".join(f"{table.name}.{c} IS NOT excluded.{c}" for c in updated)
    return statement + f" ({', '.join(keys)}) DO UPDATE SET {changed} WHERE {differs}"


@cache
def _sqlite_stable_update(table: Table, keys: tuple[str, ...], stable: tuple[str, ...]) -> str:
    """Write the stable columns of a row whose values differ (``IS NOT``: NULL is a value here)."""
    changed = ", ".join(f"{c} = ?" for c in stable)
    where = " AND ".join(f"{k} = ?" for k in keys)
    differs = " OR ".join(f"{c} IS NOT ?" for c in stable)
    return f"UPDATE {table.name} SET {changed} WHERE {where} AND ({differs})"


def write(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    *,
    upsert_on: Sequence[str] = (),
    stable: Sequence[str] = (),
) -> int:
    """Insert ``rows``, skipping conflicts (or updating them on ``upsert_on``); returns how many are new.

    ``stable``: indexed columns of an upsert that are written only where they change (module docstring).
    """
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        return _write_sqlite(conn, table, rows, tuple(upsert_on), tuple(stable) if upsert_on else ())
    return _write_sqlalchemy(conn, table, rows, tuple(upsert_on))


def _write_sqlite(
    conn: Connection, table: Table, rows: Sequence[Row], keys: tuple[str, ...], stable: tuple[str, ...] = ()
) -> int:
    columns = tuple(rows[0])
    convert = _converters(table, columns)
    params = []
    for row in rows:
        values = list(row.values())
        for position, converter in convert:
            values[position] = converter(values[position])
        params.append(values)
    if not conn.in_transaction():  # SQLAlchemy begins lazily; the driver must not write outside a transaction
        conn.begin()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_sqlite_statement(table, columns, keys, bool(keys), stable), params)
        written = max(int(cursor.rowcount), 0)
        if stable:
            at = [columns.index(c) for c in (*stable, *keys, *stable)]
            cursor.executemany(_sqlite_stable_update(table, keys, stable), [[p[i] for i in at] for p in params])
        return written
    finally:
        cursor.close()


def _write_sqlalchemy(conn: Connection, table: Table, rows: Sequence[Row], keys: tuple[str, ...]) -> int:
    statement = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    if keys:
        changed = {c: statement.excluded[c] for c in rows[0] if c not in keys}
        conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed), list(rows))
        return len(rows)
    primary = next(iter(table.primary_key.columns))
    result = conn.execute(statement.on_conflict_do_nothing().returning(primary), list(rows))
    return len(result.all())


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows that conflict with nothing stored; returns how many went in."""
    return write(conn, table, rows)


def _upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], stable: Sequence[str] = ()
) -> None:
    write(conn, table, rows, upsert_on=keys, stable=stable)
