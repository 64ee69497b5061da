"""Who may do what, where: roles per shop, the signed-in principal, dashboard users and sessions.

A person holds one role per shop (``viewer`` < ``agent`` < ``lead`` < ``admin``); the shop ``*`` stands
for every configured shop and is expanded when a principal is built.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

ALL_SHOPS = "*"


class Role(enum.IntEnum):
    VIEWER = 1
    AGENT = 2
    LEAD = 3
    ADMIN = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        """``"agent"`` -> ``Role.AGENT``; ``ValueError`` naming the roles for anything else."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {name!r} (roles: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """Whoever a request acts for: a signed-in person (``session_id`` set) or an API token."""

    username: str
    display_name: str
    person_id: str | None
    roles: Mapping[str, Role]
    session_id: str | None = None

    def role_in(self, shop: str) -> Role | None:
        return self.roles.get(shop.lower())

    def leads_in(self, shop: str) -> bool:
        """A lead (or above) in ``shop``: may hand a case someone else holds to another (ADR 0039)."""
        return (self.role_in(shop) or 0) >= Role.LEAD

    def shops_with(self, role: Role) -> set[str]:
        return {shop for shop, held in self.roles.items() if held >= role}

    @property
    def highest(self) -> Role | None:
        return max(self.roles.values(), default=None)

    @property
    def actor(self) -> str:
        """The name recorded in timelines and the audit log: the person in ``opsdesk.yaml``, else the login."""
        return self.person_id or self.username


@dataclass(frozen=True, slots=True)
class User:
    """A dashboard account; only the Argon2id hash of its password is kept."""

    username: str
    display_name: str
    password_hash: str
    roles: Mapping[str, Role]
    created_at: datetime
    person_id: str | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """A server-side session; ``digest`` is the SHA-256 of the cookie's token, never the token."""

    digest: str
    username: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: idle timeout and absolute lifetime (ASVS: ≤ 30 min, ≤ 12 h)."""

    idle_seconds: int = 30 * 60
    absolute_seconds: int = 12 * 3600
    #: ``last_seen`` is written at most this often, so browsing does not take the write lock on every page.
    touch_seconds: int = 60

    def alive(self, session: Session, now: datetime) -> bool:
        # last_seen lags the last request by up to touch_seconds, so this errs on the short side.
        return now < session.expires_at and (now - session.last_seen).total_seconds() < self.idle_seconds


@dataclass(frozen=True, slots=True)
class Throttle:
    """Failed sign-ins allowed per account in a sliding window (ASVS: ≤ 100 an hour)."""

    max_failures: int = 20
    window_seconds: int = 3600
