"""The playbooks' tables: stock, discount guardrails, item costs, missed carrier pickups."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from opsdesk.storage.tables.columns import UtcDateTime, metadata

# Stock (migration 0007): levels per item and location, each item's SKU, and the SKUs of open orders, so
# that stock below zero finds the orders it hits and a new order finds stock that is gone.
inventory_levels = Table(
    "inventory_levels",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("inventory_item_id", BigInteger, primary_key=True, autoincrement=False),
    Column("location_id", BigInteger, primary_key=True, autoincrement=False),
    Column("available", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # When the level was last heard at zero or above (migration 0012): orders placed since are the oversold ones.
    Column("in_stock_at", UtcDateTime, nullable=True),
)
Index("ix_inventory_levels_negative", inventory_levels.c.shop, inventory_levels.c.available)

inventory_items = Table(
    "inventory_items",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("inventory_item_id", BigInteger, primary_key=True, autoincrement=False),
    Column("sku", String(255), nullable=False),
    Column("tracked", Boolean, nullable=False),
)
Index("ix_inventory_items_sku", inventory_items.c.shop, inventory_items.c.sku)

order_skus = Table(
    "order_skus",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("sku", String(255), primary_key=True),
    Column("placed_at", UtcDateTime, nullable=False),
)
Index("ix_order_skus_sku", order_skus.c.shop, order_skus.c.sku, order_skus.c.placed_at)

# Discount guardrails and carrier pickups (migration 0003).
discounts = Table(
    "discounts",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("gid", String(255), primary_key=True),
    Column("title", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("terms", Text, nullable=True),
    Column("needs_terms", Boolean, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("checked_at", UtcDateTime, nullable=True),
    Column("violations", Text, nullable=False, server_default="[]"),
)
Index("ix_discounts_needs_terms", discounts.c.needs_terms, discounts.c.seen_at)

discount_incidents = Table(
    "discount_incidents",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("shop", String(255), nullable=False),
    Column("discount_gid", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("first_bad_order_at", UtcDateTime, nullable=True),
    Column("money_at_risk", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)
Index("ix_discount_incidents_shop", discount_incidents.c.shop, discount_incidents.c.detected_at)

discount_windows = Table(
    "discount_windows",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("start", UtcDateTime, primary_key=True),
    Column("orders", Integer, nullable=False),
    Column("new_customers", Integer, nullable=False),
    Column("revenue", String(64), nullable=False),
    Column("discount", String(64), nullable=False),
    Column("first_at", UtcDateTime, nullable=True),
)

# By start (migration 0010): the retention sweep reads the windows past its horizon, and no other.
Index("ix_discount_windows_start", discount_windows.c.start, discount_windows.c.shop, discount_windows.c.subject)

item_costs = Table(
    "item_costs",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("sku", String(255), primary_key=True),
    Column("cost", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

missed_pickups = Table(
    "missed_pickups",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("pickup_at", UtcDateTime, primary_key=True),
    Column("warehouse", String(128), nullable=False),
    Column("carrier", String(128), nullable=False),
    Column("ship_by", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
Index("ix_missed_pickups_recorded", missed_pickups.c.recorded_at)
