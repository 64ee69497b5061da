"""API tokens: printed once at creation, stored only as a digest, listed and revoked by id.

Nothing caches a token: the API looks each bearer token up in the database on every request, so a
revocation committed by any process is refused from the next request on.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from opsdesk.domain.case_rights import ensure_person
from opsdesk.domain.errors import InvalidInput, NotFound
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
    ensure_person(name)  # the API acts as the token's name: "automation" would pass for the desk (ADR 0039)
    token = "odk_" + secrets.token_urlsafe(32)
    made = ApiToken(secrets.token_hex(8), name.strip(), role, digest(token), now)
    uow.tokens.add(made)
    after = {"name": made.name, "role": role}
    uow.audit.record([AuditEntry(now, actor, "token.create", f"token:{made.id}", None, after)])
    return token


def list_tokens(uow: UnitOfWork) -> list[ApiToken]:
    """Every token, revoked ones too, oldest first."""
    return uow.tokens.list()


@dataclass(frozen=True, slots=True)
class Revocation:
    """A token after ``revoke_token``; ``already``: it was revoked before, so nothing changed."""

    token: ApiToken
    already: bool


def revoke_token(uow: UnitOfWork, token_id: str, now: datetime, actor: str = "cli") -> Revocation:
    """Revoke a token by its id; ``NotFound`` for an unknown id. Writes one audit entry (its id, name and
    role), and none when it was revoked already: revoking twice is not an error."""
    token = uow.tokens.find(token_id.strip())
    if token is None:
        raise NotFound(f"no API token {token_id!r} (opsdesk tokens list shows their ids)")
    revoked = replace(token, revoked=True)
    if not uow.tokens.revoke(token.id):
        return Revocation(revoked, already=True)
    before = {"name": token.name, "role": token.role, "revoked": False}
    uow.audit.record([AuditEntry(now, actor, "token.revoke", f"token:{token.id}", before, {**before, "revoked": True})])
    return Revocation(revoked, already=False)


def authenticate(uow: UnitOfWork, token: str) -> ApiToken | None:
    found = uow.tokens.find_by_digest(digest(token))
    return found if found is not None and not found.revoked else None


def allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)
