"""Who may do what, and what they did: the audit chain, users, roles, sessions, sign-in failures, tokens."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from opsdesk.storage.tables.columns import BigId, UtcDateTime, metadata

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
