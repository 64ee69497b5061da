"""ended cases' index: resolved and closed cases listed latest first without sorting them all (ADR 0052)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The expression is the queue's order for ended cases (storage/case_queue.RUNS), so both databases read
    # the index backwards for a page of the latest ended.
    op.create_index("ix_cases_ended", "cases", ["status", sa.text("coalesce(resolved_at, opened_at)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_ended", table_name="cases")
