"""SQLite's connections as the desk opens them: WAL, the documented durability, immediate write transactions."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["configure_sqlite"]


def _write_ahead_log(cursor: Any, wait: float) -> None:
    """Put the database in WAL mode, waiting up to ``wait`` seconds for another connection doing the same.

    Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy handler, to a connection that asks while another switches (processes started together on a fresh
    file: ``migrate``, ADR 0032); once the file is in WAL mode the pragma only reads it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def configure_sqlite(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling is turned off so that we can BEGIN IMMEDIATE:
        # a writer takes the lock up front instead of failing to upgrade a read lock later.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        _write_ahead_log(cursor, busy_timeout_ms / 1000)
        for pragma in (
            f"synchronous={synchronous}",
            f"busy_timeout={busy_timeout_ms}",
            "foreign_keys=ON",
            "cache_size=-65536",
            "temp_store=MEMORY",
            # Checkpoints are run by the desk's checkpointer thread (or, past ~80 MB of WAL, by the
            # committing connection): a writer acknowledging webhooks should not pay for them.
            "wal_autocheckpoint=20000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A reader must not take the write lock: intake's writer would queue behind every idle poll.
        read_only = conn.get_execution_options().get("opsdesk_read_only", False)
        # Straight to the driver: SQLAlchemy's execution path costs ~10x SQLite's BEGIN, on every transaction.
        conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")  # type: ignore[union-attr]
