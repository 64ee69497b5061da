"""Schema migrations with Alembic, run programmatically on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from opsdesk.domain.errors import SchemaAhead

MIGRATIONS = Path(__file__).with_name("migrations")
#: The PostgreSQL advisory lock migrations take for their transaction (any constant no other code uses).
MIGRATION_LOCK = 0x6F7073646B  # "opsdk"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run again, and from several processes at once.

    Every command that opens the database migrates it first, so ``serve`` and a ``worker`` started together
    on a database an upgrade left behind both do: on PostgreSQL the first takes a lock for the transaction
    and the others wait for it, then find nothing left to do (on SQLite the write lock does the same). A
    database migrated by a newer opsdesk (a revision this one does not know) is refused, saying so.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = _config()
        config.attributes["connection"] = conn
        current = MigrationContext.configure(conn).get_current_revision()
        scripts = ScriptDirectory.from_config(config)
        known = {script.revision for script in scripts.walk_revisions()}
        if current is not None and current not in known:
            raise SchemaAhead(
                f"the database's schema is at revision {current}, which this opsdesk does not know: a newer "
                f"opsdesk upgraded it. Run that version (or restore the backup taken before the upgrade)."
            )
        if revision == "head" and current == scripts.get_current_head():
            return  # nothing to do, as for most desks built: alembic's upgrade would read every script again
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"`` for none); for developers and tests."""
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == ScriptDirectory.from_config(_config()).get_current_head()


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new revision from the difference between the tables and the database (developers only)."""
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
