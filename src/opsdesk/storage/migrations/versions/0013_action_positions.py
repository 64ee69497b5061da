"""action positions: each action's place in its decision, which it is sent in (ADR 0042)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The actions stored before are all at 0: each waits for none, as before the upgrade (an email claimable
    # beside its refund stays so). Their index could be found again by hashing (decision, 0, 1, ...) until the
    # id matches, but that is a walk over every action in Python for a behaviour no stored action was promised.
    op.add_column("actions", sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_actions_decision", "actions", ["decision_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_actions_decision", table_name="actions")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("position")
