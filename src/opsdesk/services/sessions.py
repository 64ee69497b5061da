"""Server-side sessions: a 256-bit random token in the cookie, only its SHA-256 digest in the database.

A sign-in always starts a new session (and ends the one the browser came with), so a token planted
before sign-in is worthless after it. A session ends after ``idle_seconds`` without a request or
``absolute_seconds`` after sign-in, whichever comes first; sign-out, a password change and disabling
the account end it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.domain.access import Session, SessionPolicy, User
from opsdesk.domain.records import AuditEntry
from opsdesk.ports import UnitOfWork

TOKEN_BYTES = 32  # 256 bits (ASVS 3.2.2: at least 128)


def digest(token: str) -> str:
    # The token is 256 random bits: a fast hash suffices, there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    uow: UnitOfWork, user: User, *, now: datetime, policy: SessionPolicy, replacing: str | None = None
) -> str:
    """A new session for ``user``; returns the token for the cookie (never stored). One audit entry."""
    if replacing:
        uow.sessions.remove(digest(replacing))
    uow.sessions.purge(now, now - timedelta(seconds=policy.idle_seconds))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + timedelta(seconds=policy.absolute_seconds)
    uow.sessions.add(Session(digest(token), user.username, now, now, expires))
    after = {"expires_at": expires.isoformat()}
    uow.audit.record([AuditEntry(now, user.username, "session.start", f"user:{user.username}", None, after)])
    return token


@dataclass(frozen=True, slots=True)
class Resumed:
    user: User
    session: Session
    #: Whether ``last_seen`` is old enough to be written (see ``SessionPolicy.touch_seconds``).
    stale: bool


def resume_session(uow: UnitOfWork, token: str, *, now: datetime, policy: SessionPolicy) -> Resumed | None:
    """The live session of this token and its enabled user, or None (reads only)."""
    session = uow.sessions.find(digest(token))
    if session is None or not policy.alive(session, now):
        return None
    user = uow.users.find(session.username)
    if user is None or user.disabled:
        return None
    stale = (now - session.last_seen).total_seconds() >= policy.touch_seconds
    return Resumed(user, session, stale)


def touch_session(uow: UnitOfWork, session_digest: str, now: datetime) -> None:
    """Move the idle clock (bookkeeping, not audited)."""
    uow.sessions.touch(session_digest, now)


def end_session(uow: UnitOfWork, token: str, *, now: datetime) -> bool:
    """Sign out: the session is deleted; one audit entry when there was one."""
    session = uow.sessions.find(digest(token))
    if session is None:
        return False
    uow.sessions.remove(session.digest)
    subject = f"user:{session.username}"
    uow.audit.record([AuditEntry(now, session.username, "session.end", subject, None, None)])
    return True
