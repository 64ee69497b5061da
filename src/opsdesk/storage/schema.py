"""Schema migrations with Alembic, run programmatically on SQLite and PostgreSQL.

Alembic is imported only when a migration must run (or a developer's command asks for it): a database already at
``HEAD`` is recognised without it, as most are when a command starts (ADR 0054, session 15)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from opsdesk.domain.errors import SchemaAhead

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration's revision, which ``migrate`` compares the database's with before it loads Alembic (its
#: import and its reading of every script cost a command a quarter of a second). A migration added moves it: a test
#: fails until it does (tests/integration/test_cli_start.py).
HEAD = "0015"
#: The PostgreSQL advisory lock migrations take for their transaction (any constant no other code uses).
MIGRATION_LOCK = 0x6F7073646B  # "opsdk"


def _config() -> Config:
    from alembic.config import Config

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
        if revision == "head" and _revisions(conn) == [HEAD]:
            return  # nothing to do, as for most desks built: Alembic is not even loaded
        _upgrade(conn, revision)


def _revisions(conn: Connection) -> list[str]:
    """The revisions the database's version table holds (none without the table), read where Alembic reads them."""
    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _upgrade(conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

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
        return  # nothing to do: alembic's upgrade would read every script again
    command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"`` for none); for developers and tests."""
    from alembic import command

    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == ScriptDirectory.from_config(_config()).get_current_head()


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new revision from the difference between the tables and the database (developers only)."""
    from alembic import command

    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
