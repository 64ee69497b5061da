"""The tables, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL.

One ``MetaData`` (in ``columns``, with the column types the tables share) holds every table; the tables are
declared by the area that owns them, as the ports are split (ADR 0050): ``pipeline`` (deliveries, orders,
decisions, the outbox's actions, guardrail usage), ``casework`` (cases, their changes, timers, follow-ups),
``access`` (audit, users, sessions, tokens), ``playbooks`` (stock, discounts, pickups) and ``compliance``
(readiness evidence, erased customers). All are importable from here: the repositories, the migrations and
alembic's ``env.py`` read them as ``tables.<name>``, and importing this package declares every table.
"""

from opsdesk.storage.tables.access import (
    api_tokens,
    audit,
    audit_head,
    login_failures,
    sessions,
    user_roles,
    users,
)
from opsdesk.storage.tables.casework import (
    CASE_NUMBERS,
    TIMER_DONE,
    case_changes,
    cases,
    followups,
    sequences,
    timers,
)
from opsdesk.storage.tables.columns import BigId, UtcDateTime, metadata
from opsdesk.storage.tables.compliance import erased_customers, policy_reviews, probes
from opsdesk.storage.tables.pipeline import actions, decisions, deliveries, orders, usage
from opsdesk.storage.tables.playbooks import (
    discount_incidents,
    discount_windows,
    discounts,
    inventory_items,
    inventory_levels,
    item_costs,
    missed_pickups,
    order_skus,
)

__all__ = [
    "CASE_NUMBERS",
    "TIMER_DONE",
    "BigId",
    "UtcDateTime",
    "actions",
    "api_tokens",
    "audit",
    "audit_head",
    "case_changes",
    "cases",
    "decisions",
    "deliveries",
    "discount_incidents",
    "discount_windows",
    "discounts",
    "erased_customers",
    "followups",
    "inventory_items",
    "inventory_levels",
    "item_costs",
    "login_failures",
    "metadata",
    "missed_pickups",
    "order_skus",
    "orders",
    "policy_reviews",
    "probes",
    "sequences",
    "sessions",
    "timers",
    "usage",
    "user_roles",
    "users",
]
