"""The cases' tables: cases and their numbers, their changes, durable timers, follow-up progress."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)

from opsdesk.storage.tables.columns import BigId, UtcDateTime, metadata

cases = Table(
    "cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shop", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("source", String(128), nullable=False, default=""),
    Column("priority", String(16), nullable=False, default="normal"),
    Column("status", String(32), nullable=False, default="open"),
    Column("detail", Text, nullable=False, default="{}"),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("owner", String(255), nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated_at", UtcDateTime, nullable=True),
    Column("first_response_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", String(64), nullable=True),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    # The next SLA deadline that is running (NULL when none is): the queue is sorted by it.
    Column("due_at", UtcDateTime, nullable=True),
    # Set while the case is open, NULL once closed: at most one open case per (shop, order, kind).
    Column("open_key", String(400), nullable=True, unique=True),
    # The desk's number for the case, its key C-<number> (migration 0011, ADR 0029): set by the repository in
    # the transaction that stores the case, from CASE_NUMBERS on PostgreSQL and the sequences row on SQLite.
    Column("number", BigInteger, nullable=True),
)
Index("ux_cases_number", cases.c.number, unique=True)
Index("ix_cases_order", cases.c.shop, cases.c.order_id)
Index("ix_cases_status", cases.c.status, cases.c.opened_at)
Index("ix_cases_owner", cases.c.owner, cases.c.status, cases.c.due_at)
Index("ix_cases_queue", cases.c.queue, cases.c.status, cases.c.due_at)
Index("ix_cases_due", cases.c.status, cases.c.due_at)
# Ended cases list the latest ended first (storage/case_queue.RUNS): read backwards in the queue's own order
# (migration 0014), not every resolved case of the desk's history sorted for one page.
Index("ix_cases_ended", cases.c.status, func.coalesce(cases.c.resolved_at, cases.c.opened_at), cases.c.id)
# The same for a queue's or an owner's ended cases (migration 0015, ADR 0059): without them, a page of one queue's
# resolved cases sorted all of them, or read every resolved case backwards to find the queue's.
for _column in (cases.c.queue, cases.c.owner):
    Index(f"ix_cases_ended_{_column.name}", _column, cases.c.status,
          func.coalesce(cases.c.resolved_at, cases.c.opened_at), cases.c.id)

#: PostgreSQL's sequence of case numbers: concurrent transactions each take their own, never one twice.
CASE_NUMBERS = Sequence("case_number_seq", metadata=metadata)

# SQLite has no sequences: a row here stands in for one (``case_number``), moved only under SQLite's single
# write lock, so two writers never read the same value, and never moved back, so a number is never given
# twice even after the cases holding the highest ones are erased. PostgreSQL uses its own (CASE_NUMBERS).
sequences = Table(
    "sequences",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

case_changes = Table(
    "case_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("note", Text, nullable=False),
)
Index("ix_case_changes_case", case_changes.c.case_id, case_changes.c.id)

timers = Table(
    "timers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, server_default=""),
)
# Partial on SQLite and PostgreSQL alike: the sweep reads only pending rows, so its cost does not grow
# with the number of fired ones.
Index(
    "ix_timers_due",
    timers.c.due_at,
    sqlite_where=timers.c.status == "pending",
    postgresql_where=timers.c.status == "pending",
)
Index("ix_timers_subject", timers.c.subject)
# The done rows by due time (migration 0010): the retention sweep reads the expired ones and no other row.
TIMER_DONE = timers.c.status.in_([literal_column("'fired'"), literal_column("'cancelled'")])
Index("ix_timers_done", timers.c.due_at, timers.c.id, sqlite_where=TIMER_DONE, postgresql_where=TIMER_DONE)

# Delayed-fulfilment progress (migration 0010; a usage row ``followup|<shop>|<order>`` before): one row per
# order followed up. Ids only grow (AUTOINCREMENT on SQLite) in the order follow-ups began, so the
# retention sweep pages along them from where it stopped (ADR 0022).
followups = Table(
    "followups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop", String(255), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_sent_at", UtcDateTime, nullable=False),
    UniqueConstraint("shop", "order_id", name="uq_followups_order"),
    sqlite_autoincrement=True,
)
