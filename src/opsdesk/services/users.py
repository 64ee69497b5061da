"""Dashboard users: accounts with a role per shop, Argon2id passwords, throttled sign-in.

Failed sign-ins are counted per username in the database (so every process sees them), for names
that exist and names that do not alike: the answer to a locked or wrong sign-in never tells whether
the account exists, and neither does the time it takes (an unknown name is checked against a dummy hash).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opsdesk.domain.access import ALL_SHOPS, Principal, Role, Throttle, User
from opsdesk.domain.case_rights import ensure_person
from opsdesk.domain.errors import Conflict, InvalidInput, NotFound
from opsdesk.domain.records import AuditEntry
from opsdesk.ports import UnitOfWork

#: Argon2id at OWASP's first recommended setting (ASVS 2.4.1: m ≥ 19 MiB, t ≥ 2, p = 1).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
LOCKED_MESSAGE = "sign-in refused: wrong username or password, or too many failed attempts; try again later"


@functools.cache
def hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
    )


@functools.cache
def _dummy_hash() -> str:
    return hasher().hash("opsdesk: the password of nobody")


def hash_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return hasher().hash(password)


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput("a username is 1-64 of a-z 0-9 . _ @ - (starting with a letter or digit)")
    return name


def parse_roles(roles: Mapping[str, Role | str]) -> dict[str, Role]:
    """Shop domain (or ``*`` for every shop) -> role; ``InvalidInput`` on an unknown role."""
    parsed: dict[str, Role] = {}
    for shop, role in roles.items():
        try:
            parsed[shop.strip().lower()] = role if isinstance(role, Role) else Role.parse(role)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    return parsed


def add_user(
    uow: UnitOfWork,
    username: str,
    password: str,
    display_name: str,
    roles: Mapping[str, Role | str],
    person_id: str | None = None,
    *,
    now: datetime,
    actor: str = "cli",
) -> User:
    """Create an account; ``Conflict`` when the username is taken. Writes one audit entry."""
    name = normalise_username(username)
    for acting_as in (name, person_id or ""):  # whom its principal acts as: never the desk's own name (ADR 0039)
        ensure_person(acting_as)
    if uow.users.find(name) is not None:
        raise Conflict(f"user {name!r} exists already")
    user = User(
        name, display_name.strip() or name, hash_password(password), parse_roles(roles), now, person_id
    )
    uow.users.add(user)
    _audit(uow, now, actor, "user.add", user, None, _public(user))
    return user


def set_password(uow: UnitOfWork, username: str, password: str, *, now: datetime, actor: str = "cli") -> User:
    """Change a password and end every session of the user (they sign in again)."""
    user = get_user(uow, username)
    changed = dataclasses.replace(user, password_hash=hash_password(password))
    uow.users.update(changed)
    uow.sessions.remove_for(user.username)
    uow.users.clear_failures(user.username)
    _audit(uow, now, actor, "user.password", user, None, {"sessions": "ended"})
    return changed


def disable_user(uow: UnitOfWork, username: str, *, now: datetime, actor: str = "cli") -> User:
    """Disable an account and end its sessions; it can no longer sign in."""
    user = get_user(uow, username)
    changed = dataclasses.replace(user, disabled=True)
    uow.users.update(changed)
    uow.sessions.remove_for(user.username)
    _audit(uow, now, actor, "user.disable", user, {"disabled": user.disabled}, {"disabled": True})
    return changed


def set_roles(
    uow: UnitOfWork, username: str, roles: Mapping[str, Role | str], *, now: datetime, actor: str = "cli"
) -> User:
    """Replace a user's roles (effective at their next request)."""
    user = get_user(uow, username)
    changed = dataclasses.replace(user, roles=parse_roles(roles))
    uow.users.update(changed)
    _audit(uow, now, actor, "user.roles", user, _public(user), _public(changed))
    return changed


def get_user(uow: UnitOfWork, username: str) -> User:
    user = uow.users.find(username.strip().lower())
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(uow: UnitOfWork) -> list[User]:
    return uow.users.list()


@dataclass(frozen=True, slots=True)
class SignIn:
    """The outcome of a sign-in: ``ok`` with the user, or ``invalid`` / ``locked`` (shown alike)."""

    outcome: Literal["ok", "invalid", "locked"]
    user: User | None = None


def authenticate(
    uow: UnitOfWork, username: str, password: str, *, now: datetime, throttle: Throttle | None = None
) -> SignIn:
    """Check a username and password, counting failures; a failure writes one audit entry."""
    throttle = throttle or Throttle()
    name = username.strip().lower()[:255]
    since = now - timedelta(seconds=throttle.window_seconds)
    if uow.users.failures_since(name, since) >= throttle.max_failures:
        return SignIn("locked")  # no password check, no new row: the window empties on its own
    user = uow.users.find(name)
    if not _verify(user.password_hash if user else _dummy_hash(), password) or user is None or user.disabled:
        uow.users.clear_failures(None, before=since)  # failures out of the window, of every name
        uow.users.record_failure(name, now)
        uow.audit.record([AuditEntry(now, name, "login.failed", f"user:{name}", None, None)])
        return SignIn("invalid")
    uow.users.clear_failures(name)
    if hasher().check_needs_rehash(user.password_hash):
        user = dataclasses.replace(user, password_hash=hasher().hash(password))
        uow.users.update(user)
    return SignIn("ok", user)


def principal_for(user: User, shops: tuple[str, ...], session_id: str | None = None) -> Principal:
    """The principal of a user: ``*`` becomes every configured shop; a shop's own role wins over ``*``."""
    wildcard = user.roles.get(ALL_SHOPS)
    roles = dict.fromkeys(shops, wildcard) if wildcard else {}
    roles.update({shop: role for shop, role in user.roles.items() if shop != ALL_SHOPS})
    return Principal(user.username, user.display_name, user.person_id, roles, session_id)


def leads_in(uow: UnitOfWork, person: str, shop: str) -> bool:
    """Whether an enabled account acting as ``person`` (its person, else its username) is a lead or above in
    ``shop``: the role the command line's ``--as`` gets, as the dashboard would give it that person."""
    found = (principal_for(u, (shop,)) for u in uow.users.list() if not u.disabled)
    return any(p.actor == person and p.leads_in(shop) for p in found)


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _public(user: User) -> dict[str, object]:
    return {
        "display_name": user.display_name,
        "person_id": user.person_id,
        "roles": {shop: role.label for shop, role in sorted(user.roles.items())},
        "disabled": user.disabled,
    }


def _audit(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    action: str,
    user: User,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    uow.audit.record([AuditEntry(now, actor, action, f"user:{user.username}", before, after)])
