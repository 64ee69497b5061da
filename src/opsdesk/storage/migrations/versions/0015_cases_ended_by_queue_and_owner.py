"""ended cases of a queue or an owner: listed latest first from their own index, not sorted (ADR 0059)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The queue's and the owner's ended cases, in ``ix_cases_ended``'s order behind the filter's column.
INDEXES = {"ix_cases_ended_queue": "queue", "ix_cases_ended_owner": "owner"}


def upgrade() -> None:
    for name, column in INDEXES.items():
        op.create_index(name, "cases", [column, "status", sa.text("coalesce(resolved_at, opened_at)"), "id"])


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
