"""order and risk playbooks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa
from alembic import op

import opsdesk.storage.tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_levels",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("inventory_item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("location_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("updated_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop", "inventory_item_id", "location_id"),
    )
    op.create_index("ix_inventory_levels_negative", "inventory_levels", ["shop", "available"])
    op.create_table(
        "inventory_items",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("inventory_item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("shop", "inventory_item_id"),
    )
    op.create_index("ix_inventory_items_sku", "inventory_items", ["shop", "sku"])
    op.create_table(
        "order_skus",
        sa.Column("shop", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.Column("placed_at", opsdesk.storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop", "order_id", "sku"),
    )
    op.create_index("ix_order_skus_sku", "order_skus", ["shop", "sku", "placed_at"])


def downgrade() -> None:
    op.drop_index("ix_order_skus_sku", table_name="order_skus")
    op.drop_table("order_skus")
    op.drop_index("ix_inventory_items_sku", table_name="inventory_items")
    op.drop_table("inventory_items")
    op.drop_index("ix_inventory_levels_negative", table_name="inventory_levels")
    op.drop_table("inventory_levels")
