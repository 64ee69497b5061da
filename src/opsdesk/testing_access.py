"""In-memory repositories of dashboard users, sessions, API tokens and the audit chain, for ``opsdesk.testing``.

They work on the containers of the in-memory unit of work's tables (``audit``, ``audit_chain``,
``users``, ``sessions``, ``login_failures``, ``tokens``), so they commit and roll back with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from opsdesk.domain.access import Session, User
from opsdesk.domain.audit import GENESIS, AuditKeys, ChainedRow, ChainHead, entry_hash
from opsdesk.domain.errors import Conflict
from opsdesk.domain.records import ApiToken, AuditEntry
from opsdesk.testing_rows import in_utc


class Tables(Protocol):
    audit: list[AuditEntry]
    audit_chain: list[ChainedRow]
    audit_key_id: str | None
    users: dict[str, User]
    sessions: dict[str, Session]
    login_failures: list[tuple[str, datetime]]
    tokens: dict[str, ApiToken]


def _text(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


class MemoryAudit:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def record(self, entries: Sequence[AuditEntry]) -> None:
        AuditKeys().for_writing(self.head())  # no keys in memory: a keyed chain is not extended with plain rows
        for e in entries:
            prev = self.head().hash
            before, after = _text(e.before), _text(e.after)
            digest = entry_hash(prev, e.at, e.actor, e.action, e.subject, before, after)
            at = e.at.astimezone(UTC)
            row = ChainedRow(
                len(self.t.audit_chain) + 1, at, e.actor, e.action, e.subject, before, after, prev, digest
            )
            self.t.audit_chain.append(row)
            self.t.audit.append(e)

    def count(self) -> int:
        return len(self.t.audit)

    def chain(self, after_id: int, limit: int) -> list[ChainedRow]:
        return [r for r in self.t.audit_chain if r.id > after_id][:limit]

    def head(self) -> ChainHead:
        rows = self.t.audit_chain
        if not rows:
            return ChainHead(0, GENESIS, 0, self.t.audit_key_id)
        return ChainHead(rows[-1].id, rows[-1].hash, len(rows), self.t.audit_key_id)

    def lock_head(self) -> ChainHead:
        return self.head()  # one writer at a time in memory

    def rehash(self, hashes: Sequence[tuple[int, str, str]]) -> None:
        new = {i: (p, h) for i, p, h in hashes}
        self.t.audit_chain[:] = [
            replace(r, prev_hash=new[r.id][0], hash=new[r.id][1]) if r.id in new else r for r in self.t.audit_chain
        ]

    def move_head(self, head: ChainHead) -> None:
        # The head is the last row here: only the key is kept apart.
        self.t.audit_key_id = head.key_id


class MemoryUsers:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, user: User) -> None:
        if user.username in self.t.users:
            raise Conflict(f"user {user.username!r} exists already")
        self.t.users[user.username] = replace(user, created_at=user.created_at.astimezone(UTC))

    def find(self, username: str) -> User | None:
        return self.t.users.get(username)

    def list(self) -> list[User]:
        return [self.t.users[name] for name in sorted(self.t.users)]

    def update(self, user: User) -> None:
        self.t.users[user.username] = user

    def record_failure(self, username: str, at: datetime) -> None:
        self.t.login_failures.append((username, at.astimezone(UTC)))

    def failures_since(self, username: str, since: datetime) -> int:
        return sum(1 for name, at in self.t.login_failures if name == username and at >= since)

    def clear_failures(self, username: str | None, before: datetime | None = None) -> None:
        self.t.login_failures[:] = [
            (name, at)
            for name, at in self.t.login_failures
            if (username is not None and name != username) or (before is not None and at >= before)
        ]


class MemorySessions:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, session: Session) -> None:
        self.t.sessions[session.digest] = session

    def find(self, digest: str) -> Session | None:
        return self.t.sessions.get(digest)

    def touch(self, digest: str, at: datetime) -> None:
        if digest in self.t.sessions:
            self.t.sessions[digest] = replace(self.t.sessions[digest], last_seen=at)

    def remove(self, digest: str) -> None:
        self.t.sessions.pop(digest, None)

    def remove_for(self, username: str) -> int:
        gone = [d for d, s in self.t.sessions.items() if s.username == username]
        for digest in gone:
            del self.t.sessions[digest]
        return len(gone)

    def purge(self, now: datetime, idle_before: datetime) -> int:
        gone = [d for d, s in self.t.sessions.items() if s.expires_at <= now or s.last_seen < idle_before]
        for digest in gone:
            del self.t.sessions[digest]
        return len(gone)


class MemoryTokens:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, token: ApiToken) -> None:
        self.t.tokens[token.digest] = in_utc(token)

    def find_by_digest(self, digest: str) -> ApiToken | None:
        return self.t.tokens.get(digest)

    def find(self, token_id: str) -> ApiToken | None:
        return next((token for token in self.t.tokens.values() if token.id == token_id), None)

    def list(self) -> list[ApiToken]:
        return sorted(self.t.tokens.values(), key=lambda token: (token.created_at, token.id))

    def revoke(self, token_id: str) -> bool:
        token = self.find(token_id)
        if token is None or token.revoked:
            return False
        self.t.tokens[token.digest] = replace(token, revoked=True)
        return True
