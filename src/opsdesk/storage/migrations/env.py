"""Alembic environment: runs on the connection opsdesk hands over (see opsdesk.storage.schema)."""

from alembic import context

from opsdesk.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `opsdesk init` or opsdesk.storage.schema.migrate")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
