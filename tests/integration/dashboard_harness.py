"""A desk with people, teams, an SLA policy and dashboard users, for the page and browser tests."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.ports import Clock, Connector
from opsdesk.services import users
from opsdesk.web.app import create_app
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import STARTER
from tests.samples import SHOP

PASSWORD = "correct horse battery staple"
#: username -> (display name, role in every shop, person id)
USERS = {
    "alice": ("Alice Ng", "agent", "alice"),
    "bob": ("Bob Ruiz", "agent", "bob"),
    "carol": ("Carol Diaz", "lead", "carol"),
    "vera": ("Vera Viewer", "viewer", None),
}
ORG: dict[str, Any] = {
    # SLA clocks run around the clock; the teams' working hours are closed for good, so nobody is ever on
    # shift and a new case stays with its team until someone claims it (whatever day the tests run).
    "calendars": {
        "always": {"timezone": "UTC", "always_open": True},
        "away": {
            "timezone": "UTC",
            "hours": {"mon": ["09:00-17:00"]},
            "closures": [["2020-01-01T00:00", "2099-12-31T00:00"]],
        },
    },
    "sla_policies": {
        "refunds": {
            "calendar": "always",
            "targets": {"first_response": "4h", "resolution": "24h"},
            "warn_at": [0.5, 0.8],
        },
    },
    "people": {
        "alice": {"name": "Alice Ng", "email": "alice@example.com"},
        "bob": {"name": "Bob Ruiz", "email": "bob@example.com"},
        "carol": {"name": "Carol Diaz"},
    },
    "teams": {
        "support": {"members": ["alice", "bob"], "lead": "carol", "calendar": "away"},
        "ops": {"members": ["carol"], "lead": "carol", "calendar": "away"},
    },
    "queues": {"refunds": {"team": "support", "sla": "refunds"}},
    "ownership": {"default_team": "ops"},
}


def dashboard_desk(
    directory: Path,
    monkeypatch: Any,
    *,
    clock: Clock | None = None,
    connectors: dict[str, Connector] | None = None,
    database_url: str | None = None,
    **overrides: Any,
) -> Desk:
    """A desk on a SQLite file whose cases land in ``refunds``, owned by the support team until claimed."""
    playbooks = directory / "playbooks"  # the refunds playbook alone, so the tests know which cases open
    playbooks.mkdir(exist_ok=True)
    shutil.copyfile(STARTER / "refunds.yaml", playbooks / "refunds.yaml")
    config = {**ORG, "playbooks": str(playbooks), **overrides}
    desk = make_desk(directory, monkeypatch, database_url=database_url, clock=clock, connectors=connectors, **config)
    with desk.db.unit_of_work() as uow:
        for name, (display, role, person) in USERS.items():
            users.add_user(uow, name, PASSWORD, display, {"*": role}, person, now=desk.clock.now())
        uow.commit()
    return desk


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: Any, username: str) -> None:
    """Sign in through the login form, as a browser does (its CSRF token included)."""
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(form.text), "next": "/queue"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@contextmanager
def agent_client(desk: Desk, username: str, now: datetime) -> Iterator[TestClient]:
    """The dashboard over HTTP, signed in as ``username``: a person of the org, made an agent in every shop."""
    with desk.db.unit_of_work() as uow:
        users.add_user(uow, username, PASSWORD, username.title(), {"*": "agent"}, username, now=now)
        uow.commit()
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        sign_in(client, username)
        yield client


__all__ = ["PASSWORD", "SHOP", "USERS", "agent_client", "csrf_of", "dashboard_desk", "sign_in"]
