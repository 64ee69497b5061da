"""readiness evidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa
from alembic import op

import opsdesk.storage.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("playbook", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_policy_reviews_playbook", "policy_reviews", ["playbook", "reviewed_at"])
    op.create_table(
        "probes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_probes_kind_shop_at", "probes", ["kind", "shop", "at"])


def downgrade() -> None:
    op.drop_index("ix_probes_kind_shop_at", table_name="probes")
    op.drop_table("probes")
    op.drop_index("ix_policy_reviews_playbook", table_name="policy_reviews")
    op.drop_table("policy_reviews")
