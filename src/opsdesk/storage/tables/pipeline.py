"""The intake pipeline's tables: deliveries, orders, decisions, the outbox's actions, guardrail usage."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from opsdesk.storage.tables.columns import BigId, UtcDateTime, metadata

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

usage = Table(
    "guardrail_usage",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("amount", String(64), nullable=False),
)
