"""The tables, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()

#: An autoincrementing 64-bit key that SQLite maps to its ROWID.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on both backends."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop", String(255), nullable=False),
    Column("webhook_id", String(255), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("api_version", String(32), nullable=False, default=""),
    Column("event_id", String(255), nullable=False, default=""),
    Column("triggered_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("known_shop", Boolean, nullable=False, default=True),
    Column("status", String(16), nullable=False, default="pending"),
    Column("error", Text, nullable=False, default=""),
    UniqueConstraint("shop", "webhook_id", name="uq_deliveries_shop_webhook"),
)
Index("ix_deliveries_status_id", deliveries.c.status, deliveries.c.id)

orders = Table(
    "orders",
    metadata,
    Column("shop", String(255), primary_key=True),
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("owner", String(255), nullable=True),
    Column("payment_status", String(32), nullable=False, default=""),
    Column("fulfilment_status", String(32), nullable=False, default=""),
    Column("ship_by", UtcDateTime, nullable=True),
    Column("last_event_at", UtcDateTime, nullable=True),
    Column("state", Text, nullable=False),
)
Index("ix_orders_name", orders.c.shop, orders.c.name)
Index("ix_orders_email", orders.c.email)

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shop", String(255), nullable=False),
    Column("delivery_id", BigInteger, nullable=True),
    Column("order_id", BigInteger, nullable=True),
    Column("event_name", String(64), nullable=False),
    Column("event_key", Text, nullable=False),
    Column("playbook", String(128), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
)
Index("ix_decisions_order", decisions.c.shop, decisions.c.order_id)

actions = Table(
    "actions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("decision_id", String(64), nullable=False),
    Column("shop", String(255), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("kind", String(64), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("history", Text, nullable=False, default="[]"),
    Column("created_at", UtcDateTime, nullable=False),
    # Its place in its decision: not claimed while an earlier one of the decision is pending (ADR 0042).
    Column("position", Integer, nullable=False, default=0, server_default="0"),
)
Index("ix_actions_due", actions.c.status, actions.c.next_attempt_at)
Index("ix_actions_order", actions.c.shop, actions.c.order_id)
# The claim's look for an earlier pending action of the same decision, and a failure's for the later ones.
Index("ix_actions_decision", actions.c.decision_id, actions.c.position)

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
Index("ix_cases_order", cases.c.shop, cases.c.order_id)
Index("ix_cases_status", cases.c.status, cases.c.opened_at)

usage = Table(
    "guardrail_usage",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("amount", String(64), nullable=False),
)

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

audit = Table(
    "audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    # The hash chain (migration 0005): SHA-256 (or HMAC-SHA256, ADR 0024) over this row and the previous hash.
    Column("prev_hash", String(64), nullable=False, server_default=""),
    Column("hash", String(64), nullable=False, server_default=""),
)

# The chain's head, one row (id 1): the last audit id and hash, so that removing the newest rows shows.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    # The key the chain's hashes are HMACs under (``domain.audit.key_id``; migration 0009); NULL: plain SHA-256.
    Column("key_id", String(16), nullable=True),
)

# Dashboard sign-in (migration 0005): people, their role per shop, server-side sessions, failed sign-ins.
users = Table(
    "users",
    metadata,
    Column("username", String(255), primary_key=True),
    Column("display_name", String(255), nullable=False),
    Column("person_id", String(255), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("username", String(255), primary_key=True),
    Column("shop", String(255), primary_key=True),
    Column("role", String(16), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("username", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
Index("ix_sessions_username", sessions.c.username)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_login_failures_username", login_failures.c.username, login_failures.c.at)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("digest", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

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
