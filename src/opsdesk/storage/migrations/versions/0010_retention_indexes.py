"""retention: done timers by due time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_DONE = sa.text("status IN ('fired', 'cancelled')")


def upgrade() -> None:
    # The timer retention sweep reads the expired done timers along this index, never the kept rows (ADR 0022).
    op.create_index("ix_timers_done", "timers", ["due_at", "id"], sqlite_where=_DONE, postgresql_where=_DONE)


def downgrade() -> None:
    op.drop_index("ix_timers_done", table_name="timers")
