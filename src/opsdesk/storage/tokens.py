"""API tokens: only their digest is stored; a revoked token stays, marked, so its id still names it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, update

from opsdesk.domain.records import ApiToken
from opsdesk.storage import tables as t


class SqlTokens:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, token: ApiToken) -> None:
        self._conn.execute(t.api_tokens.insert().values(asdict(token)))  # the record's fields are the columns

    def find_by_digest(self, digest: str) -> ApiToken | None:
        return self._one(t.api_tokens.c.digest == digest)

    def find(self, token_id: str) -> ApiToken | None:
        return self._one(t.api_tokens.c.id == token_id)

    def list(self) -> list[ApiToken]:
        c = t.api_tokens.c
        return [_token(r) for r in self._conn.execute(select(t.api_tokens).order_by(c.created_at, c.id)).mappings()]

    def revoke(self, token_id: str) -> bool:
        c = t.api_tokens.c
        # Only a row not revoked yet: of two revocations at once, the second waits for the first's row
        # lock, then matches nothing, so the change is made (and audited) once.
        query = update(t.api_tokens).where(c.id == token_id, c.revoked.is_(False)).values(revoked=True)
        return bool(self._conn.execute(query).rowcount == 1)

    def _one(self, where: ColumnElement[bool]) -> ApiToken | None:
        row = self._conn.execute(select(t.api_tokens).where(where)).mappings().first()
        return None if row is None else _token(row)


def _token(row: Any) -> ApiToken:
    return ApiToken(**row)
