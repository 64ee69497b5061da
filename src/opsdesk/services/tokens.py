"""API tokens: printed once at creation, stored only as a digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import ApiToken, AuditEntry
from opsdesk.ports import UnitOfWork

ROLES = ("viewer", "agent", "lead", "admin")


def digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(uow: UnitOfWork, name: str, role: str, now: datetime, actor: str = "cli") -> str:
    """A new token, returned to be printed once. Writes one audit entry (its id, name and role; never the
    token or its digest), as an account's creation does."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if not name.strip():
        raise InvalidInput("a token needs a name")
    token = "odk_" + secrets.token_urlsafe(32)
    made = ApiToken(secrets.token_hex(8), name.strip(), role, digest(token), now)
    uow.tokens.add(made)
    after = {"name": made.name, "role": role}
    uow.audit.record([AuditEntry(now, actor, "token.create", f"token:{made.id}", None, after)])
    return token


def authenticate(uow: UnitOfWork, token: str) -> ApiToken | None:
    found = uow.tokens.find_by_digest(digest(token))
    return found if found is not None and not found.revoked else None


def allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)
