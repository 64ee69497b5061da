"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and undo cleanly.

Each migration is written by hand (several people add tables at once), so nothing but this test keeps
``storage/tables.py`` and ``storage/migrations/versions/`` in step.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from opsdesk.storage.schema import downgrade, is_current, migrate
from opsdesk.storage.sql import SqlDatabase
from opsdesk.storage.tables import metadata


def test_the_migrated_schema_matches_the_declared_tables(sql_db: SqlDatabase) -> None:
    with sql_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    report = "\n".join(map(repr, differences))
    assert differences == [], f"storage/tables.py and the migrations disagree:\n{report}"
    assert is_current(sql_db.engine)


def test_every_migration_downgrades_to_nothing_and_upgrades_again(sql_db: SqlDatabase) -> None:
    migrate(sql_db.engine, "head")
    downgrade(sql_db.engine, "base")
    with sql_db.engine.connect() as conn:
        left = set(sql_db.engine.dialect.get_table_names(conn)) - {"alembic_version"}
    assert left == set()
    migrate(sql_db.engine, "head")
    assert is_current(sql_db.engine)

