"""The SQL database: engine set-up per backend and the unit of work over the repositories."""

from __future__ import annotations

import sqlite3
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, OperationalError

from opsdesk.domain.audit import AuditKeys
from opsdesk.domain.errors import Conflict, DataRefused, InvalidInput, Unavailable
from opsdesk.ports.access import AuditRepository, SessionRepository, TokenRepository, UserRepository
from opsdesk.ports.cases import CaseRepository, FollowupRepository, TimerRepository
from opsdesk.ports.compliance import PrivacyRepository, ReadinessRepository
from opsdesk.ports.pipeline import (
    DecisionRepository,
    DeliveryRepository,
    OrderRepository,
    OutboxRepository,
    UsageRepository,
)
from opsdesk.ports.playbooks import DiscountRepository, InventoryRepository, PickupRepository
from opsdesk.storage.audit import SqlChainedAudit
from opsdesk.storage.cases import SqlCases
from opsdesk.storage.decisions import SqlDecisions
from opsdesk.storage.deliveries import SqlDeliveries
from opsdesk.storage.discounts_pickups import SqlDiscounts, SqlPickups
from opsdesk.storage.followups import SqlFollowups
from opsdesk.storage.inventory import SqlInventory
from opsdesk.storage.orders import SqlOrders
from opsdesk.storage.outbox import SqlOutbox
from opsdesk.storage.privacy import SqlPrivacy
from opsdesk.storage.readiness import SqlReadiness
from opsdesk.storage.sqlite_connections import configure_sqlite
from opsdesk.storage.timers import SqlTimers
from opsdesk.storage.tokens import SqlTokens
from opsdesk.storage.turns import WriteTurns
from opsdesk.storage.usage import SqlUsage
from opsdesk.storage.users import SqlSessions, SqlUsers
from opsdesk.storage.write_health import WriteHealth

#: SQLite's durability setting, stated in docs/explanation/durability.md: FULL survives power loss.
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def create_sql_engine(
    url: str, *, sqlite_synchronous: str = "FULL", sqlite_busy_timeout_ms: int = 4000
) -> Engine:
    """An engine for SQLite (WAL, immediate write transactions) or PostgreSQL (psycopg 3).

    Its errors leave the statement's values out (``hide_parameters``): they are bodies, emails, addresses,
    and an error's traceback reaches the logs (ADR 0033). A URL that names neither is ``InvalidInput``."""
    _ensure_supported(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)
    if sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
    engine = create_engine(
        url, connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "check_same_thread": False}, hide_parameters=True
    )
    configure_sqlite(engine, sqlite_synchronous.upper(), sqlite_busy_timeout_ms)
    return engine


#: Where the database's URL comes from, for the messages about it.
URL_SOURCE = "OPSDESK_DATABASE_URL or --database-url"


def _ensure_supported(url: str) -> None:
    try:
        backend: str | None = make_url(url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend not in ("sqlite", "postgresql"):
        # The URL itself is not repeated: it may hold a password.
        named = f": {backend}" if backend else ""
        raise InvalidInput(
            f"not a database URL opsdesk can use ({URL_SOURCE}{named}): "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
        )


def ensure_reachable(engine: Engine) -> None:
    """Open one connection, so that a database that cannot be opened (a file in a folder that does not exist, a
    server that refuses, a wrong password) is one ``Unavailable`` naming it, password hidden, not a traceback."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split())
        where = engine.url.render_as_string(hide_password=True)
        raise Unavailable(f"cannot open the database {where} ({URL_SOURCE}): {reason}") from None


class SqlUnitOfWork:
    """One transaction; the repositories share its connection."""

    deliveries: DeliveryRepository
    orders: OrderRepository
    decisions: DecisionRepository
    outbox: OutboxRepository
    cases: CaseRepository
    usage: UsageRepository
    followups: FollowupRepository
    audit: AuditRepository
    _chain: SqlChainedAudit
    _timers: SqlTimers
    tokens: TokenRepository
    timers: TimerRepository
    readiness: ReadinessRepository
    inventory: InventoryRepository
    users: UserRepository
    sessions: SessionRepository
    discounts: DiscountRepository
    pickups: PickupRepository
    privacy: PrivacyRepository

    def __init__(
        self,
        engine: Engine,
        *,
        read_only: bool = False,
        writer: WriteTurns | None = None,
        wait: float = 4.0,
        audit_keys: AuditKeys | None = None,
        health: WriteHealth | None = None,
    ) -> None:
        self._engine = engine
        self._health = None if read_only else health  # told how each write transaction ends
        self._audit_keys = audit_keys
        self._read_only = read_only
        self._writer = None if read_only else writer
        self._wait = wait
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        # SQLite has one writer at a time. Threads of this process queue for their turn, in order (``WriteTurns``),
        # rather than in SQLite's busy handler, which lets a waiting writer starve past its timeout.
        if self._writer is not None and not self._writer.acquire(timeout=self._wait):
            raise Unavailable(f"database busy: no write turn within {self._wait:g} s")
        try:
            conn = self._engine.connect().execution_options(opsdesk_read_only=self._read_only)
        except (OperationalError, DBAPIError) as exc:
            self._release()
            raise Unavailable(f"database unavailable: {exc.orig}") from exc
        try:
            conn.begin()
        except (OperationalError, DBAPIError, sqlite3.Error) as exc:  # SQLite's BEGIN goes to the driver
            conn.invalidate()
            self._release()
            raise Unavailable(f"database unavailable: {getattr(exc, 'orig', None) or exc}") from exc
        self._conn = conn
        self.deliveries = SqlDeliveries(conn)
        self.orders = SqlOrders(conn)
        self.decisions = SqlDecisions(conn)
        self.outbox = SqlOutbox(conn)
        self.cases = SqlCases(conn)
        self.usage = SqlUsage(conn)
        self.followups = SqlFollowups(conn)
        self.audit = self._chain = SqlChainedAudit(conn, self._audit_keys)
        self.tokens = SqlTokens(conn)
        self.timers = self._timers = SqlTimers(conn)
        self.readiness = SqlReadiness(conn)
        self.inventory = SqlInventory(conn)
        self.users = SqlUsers(conn)
        self.sessions = SqlSessions(conn)
        self.discounts = SqlDiscounts(conn)
        self.pickups = SqlPickups(conn)
        self.privacy = SqlPrivacy(conn, self._chain.flush)
        return self

    def commit(self) -> None:
        assert self._conn is not None
        # The audit chain's head is locked last, after every other write of the transaction: holding it, a
        # transaction never waits for another's rows, so it cannot deadlock on PostgreSQL (ADR 0058). Shared
        # timers (a person's digest) go just before it, in id order: holding one, it waits only for the next.
        self._timers.flush()
        self._chain.flush()
        try:
            self._conn.commit()
        except DataError as exc:
            raise DataRefused(f"refused by the database: {exc.orig}") from exc
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable(f"database unavailable: {exc.orig}") from exc
        if self._health is not None:
            self._health.succeeded()

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is None:
            return
        if self._health is not None:
            self._health.observe(exc)
        try:
            self._conn.rollback()
            self._conn.close()
        except (OperationalError, DBAPIError):
            self._conn.invalidate()
        finally:
            self._conn = None
            self._release()
        if isinstance(exc, IntegrityError):
            raise Conflict(f"conflicts with a stored record: {exc.orig}") from exc
        # A value the database will not store (too long for its column, out of range) is refused for good:
        # retrying it as an outage would hold up everything behind it (ADR 0030).
        if isinstance(exc, DataError | sqlite3.DataError):
            raise DataRefused(f"refused by the database: {getattr(exc, 'orig', None) or exc}") from exc
        if isinstance(exc, OperationalError | DBAPIError):
            raise Unavailable(f"database unavailable: {exc.orig}") from exc
        # The statements storage/fast.py and storage/bulk.py send to SQLite's driver raise its own errors.
        if isinstance(exc, sqlite3.IntegrityError):
            raise Conflict(f"conflicts with a stored record: {exc}") from exc
        if isinstance(exc, sqlite3.OperationalError):
            raise Unavailable(f"database unavailable: {exc}") from exc


class SqlDatabase:
    def __init__(self, engine: Engine, *, writer_wait: float = 4.0, audit_keys: AuditKeys | None = None) -> None:
        self.engine = engine
        self.audit_keys = audit_keys or AuditKeys()
        self._writer = WriteTurns() if engine.dialect.name == "sqlite" else None
        self._writer_wait = writer_wait
        self.health = WriteHealth()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        """A transaction; ``read_only`` ones never take SQLite's write lock (WAL readers run alongside)."""
        return SqlUnitOfWork(
            self.engine, read_only=read_only, writer=self._writer, wait=self._writer_wait, audit_keys=self.audit_keys,
            health=self.health,
        )

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable(f"database unavailable: {exc.orig}") from exc
        self.health.check()  # reads pass while writes fail (a full disk, a read-only file system)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking readers or writers (SQLite only)."""
        if self.backend != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:  # outside any transaction: the driver connection is in autocommit mode
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        except Exception as exc:  # sqlite3 errors; the next round tries again
            raise Unavailable(f"checkpoint failed: {exc}") from exc
        finally:
            raw.close()

    def dispose(self) -> None:
        self.engine.dispose()
