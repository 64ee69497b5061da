"""The repository contract, run against every backend: in-memory, SQLite and PostgreSQL."""
