"""The compliance tables: readiness evidence (playbook reviews, page probes) and erased customers."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from opsdesk.storage.tables.columns import BigId, UtcDateTime, metadata

# Readiness evidence (migration 0006): recorded reviews of playbooks, and HTTP probes of shop pages.
policy_reviews = Table(
    "policy_reviews",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("playbook", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("reviewer", String(255), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("reviewed_at", UtcDateTime, nullable=False),
)
Index("ix_policy_reviews_playbook", policy_reviews.c.playbook, policy_reviews.c.reviewed_at)

probes = Table(
    "probes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("shop", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("elapsed_ms", Integer, nullable=True),
    Column("error", Text, nullable=False, server_default=""),
)
Index("ix_probes_kind_shop_at", probes.c.kind, probes.c.shop, probes.c.at)

# Erased customers (migration 0008, ADR 0021): one row per erasure, ids only. The id only grows (SQLite's
# AUTOINCREMENT: never reused after a shop's rows are deleted), so the highest one says whether any changed.
erased_customers = Table(
    "erased_customers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop", String(255), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("orders", Text, nullable=False),  # a JSON list of the customer's order ids
    Column("erased_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)
