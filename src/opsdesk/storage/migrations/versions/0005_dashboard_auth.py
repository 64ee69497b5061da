"""dashboard users, sessions and audit chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa
from alembic import op

from opsdesk.domain.audit import GENESIS, entry_hash
from opsdesk.storage.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("person_id", sa.String(255), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column("username", sa.String(255), primary_key=True),
        sa.Column("shop", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_username", "sessions", ["username"])
    op.create_table(
        "login_failures",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_failures_username", "login_failures", ["username", "at"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    _chain_existing_rows()


def _chain_existing_rows() -> None:
    """Entries written before the chain existed join it, in id order; the head records where it ends."""
    meta = sa.MetaData()
    audit = sa.Table(
        "audit",
        meta,
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", UtcDateTime(timezone=True)),
        sa.Column("actor", sa.String(255)),
        sa.Column("action", sa.String(64)),
        sa.Column("subject", sa.String(255)),
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
    )
    head = sa.Table(
        "audit_head",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_id", sa.BigInteger()),
        sa.Column("hash", sa.String(64)),
        sa.Column("count", sa.BigInteger()),
    )
    conn = op.get_bind()
    prev, last_id, count = GENESIS, 0, 0
    rows = conn.execute(sa.select(audit).order_by(audit.c.id)).mappings().all()
    for row in rows:
        digest = entry_hash(
            prev, row["at"], row["actor"], row["action"], row["subject"], row["before"], row["after"]
        )
        conn.execute(audit.update().where(audit.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev, last_id, count = digest, row["id"], count + 1
    conn.execute(head.insert().values(id=1, last_id=last_id, hash=prev, count=count))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
    op.drop_table("audit_head")
    op.drop_index("ix_login_failures_username", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_sessions_username", "sessions")
    op.drop_table("sessions")
    op.drop_table("user_roles")
    op.drop_table("users")
