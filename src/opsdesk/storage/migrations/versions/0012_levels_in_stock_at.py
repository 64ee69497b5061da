"""stock levels: when each was last heard at zero or above (the orders placed since are the oversold ones)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import opsdesk.storage.tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_LEVELS = sa.table(
    "inventory_levels",
    sa.column("available", sa.Integer),
    sa.column("updated_at", sa.DateTime),
    sa.column("in_stock_at", sa.DateTime),
)


def upgrade() -> None:
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_stock_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=True)
        )
    # A level stored at zero or above was in stock when it was heard; one below zero stays unknown (NULL): its
    # next fall finds the open orders as before, newest first.
    op.execute(sa.update(_LEVELS).where(_LEVELS.c.available >= 0).values(in_stock_at=_LEVELS.c.updated_at))


def downgrade() -> None:
    with op.batch_alter_table("inventory_levels", schema=None) as batch_op:
        batch_op.drop_column("in_stock_at")
