"""retention: done timers by due time, follow-up progress in a table of its own, discount windows by start

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 22:00:00
"""

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import opsdesk.storage.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_DONE = sa.text("status IN ('fired', 'cancelled')")
_USAGE = sa.table("guardrail_usage", sa.column("key", sa.String), sa.column("count", sa.Integer),
                  sa.column("amount", sa.String))
#: Progress keys were ``followup|<shop>|<order id>``; the per-customer counters are ``monitor|followup|...``.
_PROGRESS = _USAGE.c.key.like("followup|%")


def upgrade() -> None:
    # The timer retention sweep reads the expired done timers along this index, never the kept rows (ADR 0022).
    op.create_index("ix_timers_done", "timers", ["due_at", "id"], sqlite_where=_DONE, postgresql_where=_DONE)
    followups = op.create_table(
        "followups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("started_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop", "order_id", name="uq_followups_order"),
        sqlite_autoincrement=True,
    )
    assert followups is not None
    _move_progress(followups)
    # The discount window retention sweep reads the windows past its horizon along this one (ADR 0022).
    op.create_index("ix_discount_windows_start", "discount_windows", ["start", "shop", "subject"])


def _move_progress(followups: sa.Table) -> None:
    """The progress rows move from the usage table; numbered by their last message (when each began is not
    known: the last message stands for it, which only delays the retention sweep's deleting them)."""
    bind = op.get_bind()
    rows, moved = [], []
    for key, count, amount in bind.execute(sa.select(_USAGE.c.key, _USAGE.c.count, _USAGE.c.amount).where(_PROGRESS)):
        shop, _, order = key.partition("|")[2].rpartition("|")
        if not order.isdigit():
            continue
        at = datetime.fromtimestamp(int(Decimal(amount)), UTC)
        moved.append(key)
        rows.append({"shop": shop, "order_id": int(order), "sent": count, "started_at": at, "last_sent_at": at})
    rows.sort(key=lambda r: (r["last_sent_at"], r["shop"], r["order_id"]))
    if rows:
        op.bulk_insert(followups, rows)
        for start in range(0, len(moved), 500):
            bind.execute(sa.delete(_USAGE).where(_USAGE.c.key.in_(moved[start : start + 500])))


def downgrade() -> None:
    bind = op.get_bind()
    followups = sa.table("followups", sa.column("shop", sa.String), sa.column("order_id", sa.BigInteger),
                         sa.column("sent", sa.Integer),
                         sa.column("last_sent_at", opsdesk.storage.tables.UtcDateTime(timezone=True)))
    rows = [{"key": f"followup|{shop}|{order}", "count": sent, "amount": str(int(at.timestamp()))}
            for shop, order, sent, at in bind.execute(sa.select(*followups.c))]
    if rows:
        op.bulk_insert(_USAGE, rows)
    op.drop_table("followups")
    op.drop_index("ix_timers_done", table_name="timers")
    op.drop_index("ix_discount_windows_start", table_name="discount_windows")
