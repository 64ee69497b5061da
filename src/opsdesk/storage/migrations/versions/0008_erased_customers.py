"""erased customers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import opsdesk.storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Text(), nullable=False),
        sa.Column("erased_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("erased_customers")
