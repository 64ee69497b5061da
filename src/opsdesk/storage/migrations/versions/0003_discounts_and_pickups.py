"""discount guardrails and carrier pickups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa
from alembic import op

from opsdesk.storage.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discounts",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("gid", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("needs_terms", sa.Boolean(), nullable=False),
        sa.Column("seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("violations", sa.Text(), server_default="[]", nullable=False),
        sa.PrimaryKeyConstraint("shop", "gid"),
    )
    op.create_index("ix_discounts_needs_terms", "discounts", ["needs_terms", "seen_at"])
    op.create_table(
        "discount_incidents",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("discount_gid", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detected_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_bad_order_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("money_at_risk", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_discount_incidents_shop", "discount_incidents", ["shop", "detected_at"])
    op.create_table(
        "discount_windows",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.String(length=64), nullable=False),
        sa.Column("discount", sa.String(length=64), nullable=False),
        sa.Column("first_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shop", "subject", "start"),
    )
    op.create_table(
        "item_costs",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("cost", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop", "sku"),
    )
    op.create_table(
        "missed_pickups",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pickup_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("warehouse", sa.String(length=128), nullable=False),
        sa.Column("carrier", sa.String(length=128), nullable=False),
        sa.Column("ship_by", UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop", "order_id", "pickup_at"),
    )
    op.create_index("ix_missed_pickups_recorded", "missed_pickups", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_missed_pickups_recorded", table_name="missed_pickups")
    op.drop_table("missed_pickups")
    op.drop_table("item_costs")
    op.drop_table("discount_windows")
    op.drop_index("ix_discount_incidents_shop", table_name="discount_incidents")
    op.drop_table("discount_incidents")
    op.drop_index("ix_discounts_needs_terms", table_name="discounts")
    op.drop_table("discounts")
