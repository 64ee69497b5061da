"""The command line starts with only what its command needs (ADR 0054, session 15): a command finds its database at
the head revision without loading Alembic."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from opsdesk.storage import schema


def test_the_head_revision_migrate_compares_with_is_the_newest_migrations() -> None:
    """``migrate`` skips Alembic when the database is at ``schema.HEAD``: a migration added without moving it here
    would be skipped on every database the previous one built."""
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.HEAD
