"""simulator runs: no schema change (the ground truth is a file beside the database; ADR 0011)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
