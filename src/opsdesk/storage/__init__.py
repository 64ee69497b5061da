"""SQL storage for SQLite and PostgreSQL: tables, repositories, the unit of work, migrations."""
