"""The repositories of who may do what and what they did: users, sessions, API tokens, the audit chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.access import Session, User
from opsdesk.domain.audit import ChainedRow, ChainHead
from opsdesk.domain.records import ApiToken, AuditEntry


class AuditRepository(Protocol):
    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the hash chain (writers take turns on the chain's head)."""

    def count(self) -> int: ...

    def chain(self, after_id: int, limit: int) -> list[ChainedRow]:
        """Stored rows with ids above ``after_id``, in id order, exactly as stored."""

    def head(self) -> ChainHead: ...

    def lock_head(self) -> ChainHead:
        """The head, held until the transaction ends: no other writer extends the chain meanwhile."""

    def rehash(self, hashes: Sequence[tuple[int, str, str]]) -> None:
        """Give rows (id, prev_hash, hash) new hashes (``opsdesk audit rekey`` only)."""

    def move_head(self, head: ChainHead) -> None:
        """Set the chain's head (``opsdesk audit rekey`` only)."""


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Store a new user with their roles; ``Conflict`` when the username is taken."""

    def find(self, username: str) -> User | None: ...

    def list(self) -> list[User]: ...

    def update(self, user: User) -> None:
        """Write back a user's name, person, password hash, disabled flag and roles."""

    def record_failure(self, username: str, at: datetime) -> None: ...

    def failures_since(self, username: str, since: datetime) -> int: ...

    def clear_failures(self, username: str | None, before: datetime | None = None) -> None:
        """Forget failed sign-ins of a username (or of every one), all or those before ``before``."""


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...

    def find(self, digest: str) -> Session | None: ...

    def touch(self, digest: str, at: datetime) -> None: ...

    def remove(self, digest: str) -> None: ...

    def remove_for(self, username: str) -> int:
        """End every session of a user; returns how many there were."""

    def purge(self, now: datetime, idle_before: datetime) -> int:
        """Delete sessions past their absolute lifetime or idle since before ``idle_before``."""


class TokenRepository(Protocol):
    def add(self, token: ApiToken) -> None: ...

    def find_by_digest(self, digest: str) -> ApiToken | None: ...

    def find(self, token_id: str) -> ApiToken | None: ...

    def list(self) -> list[ApiToken]:
        """Every token, revoked ones too, oldest first."""

    def revoke(self, token_id: str) -> bool:
        """Mark a token revoked; whether this call did (False when it was revoked already or is unknown)."""
