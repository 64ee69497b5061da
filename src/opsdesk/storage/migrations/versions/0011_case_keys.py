"""case keys: every case numbered from the desk's sequence, existing ones in the order they opened

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CASES = sa.table("cases", sa.column("id", sa.String), sa.column("opened_at", sa.DateTime),
                  sa.column("number", sa.BigInteger))
_SEQUENCES = sa.table("sequences", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
_SEQUENCE = sa.Sequence("case_number_seq")


def upgrade() -> None:
    op.create_table(
        "sequences",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.add_column("cases", sa.Column("number", sa.BigInteger(), nullable=True))
    _number_existing()
    op.create_index("ux_cases_number", "cases", ["number"], unique=True)
    highest = op.get_bind().execute(sa.select(sa.func.max(_CASES.c.number))).scalar_one() or 0
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(_SEQUENCE))
        if highest:  # the next number is the one after the highest given
            op.execute(sa.select(sa.func.setval("case_number_seq", highest)))
    else:
        op.bulk_insert(_SEQUENCES, [{"name": "case_number", "value": highest}])


def _number_existing() -> None:
    """The cases stored before are numbered 1, 2, ... in the order they opened (the id breaks ties)."""
    ranked = sa.select(
        _CASES.c.id, sa.func.row_number().over(order_by=(_CASES.c.opened_at, _CASES.c.id)).label("n")
    ).subquery()
    op.execute(sa.update(_CASES).values(number=ranked.c.n).where(_CASES.c.id == ranked.c.id))


def downgrade() -> None:
    op.drop_index("ux_cases_number", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("number")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(_SEQUENCE))
    op.drop_table("sequences")
