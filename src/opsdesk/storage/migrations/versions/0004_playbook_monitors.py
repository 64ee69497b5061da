"""playbook monitors and follow-ups

No schema change: the fulfilment-side monitors keep their counters in ``guardrail_usage`` and their
switches and schedules in ``timers`` (ADR 0008). The revision stays so the chain keeps its numbers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
