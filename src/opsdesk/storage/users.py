"""Dashboard users with their role per shop, server-side sessions, and failed sign-ins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from opsdesk.domain.access import Role, Session, User
from opsdesk.storage import tables as t


class SqlUsers:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, user: User) -> None:
        self._conn.execute(t.users.insert().values({**_user_row(user), "username": user.username}))
        self._put_roles(user.username, user.roles)

    def find(self, username: str) -> User | None:
        row = self._conn.execute(select(t.users).where(t.users.c.username == username)).mappings().first()
        return None if row is None else _user(row, self._roles([username]).get(username, {}))

    def list(self) -> list[User]:
        rows = self._conn.execute(select(t.users).order_by(t.users.c.username)).mappings().all()
        roles = self._roles([r["username"] for r in rows])
        return [_user(r, roles.get(r["username"], {})) for r in rows]

    def update(self, user: User) -> None:
        self._conn.execute(update(t.users).where(t.users.c.username == user.username).values(_user_row(user)))
        self._conn.execute(delete(t.user_roles).where(t.user_roles.c.username == user.username))
        self._put_roles(user.username, user.roles)

    def record_failure(self, username: str, at: datetime) -> None:
        self._conn.execute(t.login_failures.insert().values(username=username, at=at))

    def failures_since(self, username: str, since: datetime) -> int:
        c = t.login_failures.c
        query = (
            select(func.count()).select_from(t.login_failures).where(c.username == username, c.at >= since)
        )
        return int(self._conn.execute(query).scalar_one())

    def clear_failures(self, username: str | None, before: datetime | None = None) -> None:
        c = t.login_failures.c
        query = delete(t.login_failures)
        if username is not None:
            query = query.where(c.username == username)
        self._conn.execute(query if before is None else query.where(c.at < before))

    def _put_roles(self, username: str, roles: Mapping[str, Role]) -> None:
        rows = [{"username": username, "shop": shop, "role": role.label} for shop, role in roles.items()]
        if rows:
            self._conn.execute(t.user_roles.insert(), rows)

    def _roles(self, usernames: Sequence[str]) -> dict[str, dict[str, Role]]:
        found: dict[str, dict[str, Role]] = {}
        for start in range(0, len(usernames), 500):
            query = select(t.user_roles).where(t.user_roles.c.username.in_(usernames[start : start + 500]))
            for r in self._conn.execute(query).mappings():
                found.setdefault(r["username"], {})[r["shop"]] = Role.parse(r["role"])
        return found


class SqlSessions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, session: Session) -> None:
        self._conn.execute(
            t.sessions.insert().values(
                digest=session.digest,
                username=session.username,
                created_at=session.created_at,
                last_seen=session.last_seen,
                expires_at=session.expires_at,
            )
        )

    def find(self, digest: str) -> Session | None:
        row = self._conn.execute(select(t.sessions).where(t.sessions.c.digest == digest)).mappings().first()
        if row is None:
            return None
        return Session(row["digest"], row["username"], row["created_at"], row["last_seen"], row["expires_at"])

    def touch(self, digest: str, at: datetime) -> None:
        self._conn.execute(update(t.sessions).where(t.sessions.c.digest == digest).values(last_seen=at))

    def remove(self, digest: str) -> None:
        self._conn.execute(delete(t.sessions).where(t.sessions.c.digest == digest))

    def remove_for(self, username: str) -> int:
        return self._conn.execute(delete(t.sessions).where(t.sessions.c.username == username)).rowcount

    def purge(self, now: datetime, idle_before: datetime) -> int:
        c = t.sessions.c
        query = delete(t.sessions).where(or_(c.expires_at <= now, c.last_seen < idle_before))
        return self._conn.execute(query).rowcount


def _user_row(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "person_id": user.person_id,
        "password_hash": user.password_hash,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


def _user(row: Any, roles: dict[str, Role]) -> User:
    return User(
        row["username"],
        row["display_name"],
        row["password_hash"],
        roles,
        row["created_at"],
        row["person_id"],
        bool(row["disabled"]),
    )
