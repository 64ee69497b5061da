"""Two shops, a case and an order in each, and a person per role holding it in the first shop only.

The desk is built through the real composition root on a real database; people sign in through the
real ``/login`` form, so the cookies and CSRF tokens the tests use are the ones a browser would get.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.access import ALL_SHOPS, Role
from opsdesk.services import tokens, users
from opsdesk.services.sessions import digest
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from opsdesk.web.auth import SESSION_COOKIE
from tests.integration.desk_harness import make_desk
from tests.samples import SHOP, order_lifecycle

OWN = SHOP
OTHER = "other-store.myshopify.com"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
ORDER = 5_000_000_000_000_000_001
BASE_URL = "https://testserver"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def two_shop_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None = None) -> Desk:
    return make_desk(
        tmp_path,
        monkeypatch,
        database_url=database_url,
        clock=ManualClock(NOW),
        shops=[{"domain": OWN}, {"domain": OTHER}],
    )


def add_person(desk: Desk, username: str, roles: dict[str, Role], person_id: str | None = None) -> None:
    with desk.db.unit_of_work() as uow:
        users.add_user(uow, username, PASSWORD, username.title(), roles, person_id, now=desk.clock.now())
        uow.commit()


def deliveries_for(shop: str, n: int = 1) -> list[dict[str, object]]:
    """One order's deliveries as ``shop`` sends them (a damaged item: the return becomes a case)."""
    found = []
    for recorded in order_lifecycle(n, reason="DEFECTIVE")[:6]:
        d = copy.deepcopy(recorded)
        headers = d["headers"]
        assert isinstance(headers, dict)
        headers["X-Shopify-Shop-Domain"] = shop
        headers["X-Shopify-Webhook-Id"] = f"{shop}-{headers['X-Shopify-Webhook-Id']}"
        found.append(d)
    return found


@dataclass
class Signed:
    """A signed-in person: the session cookie and the CSRF token their pages carry."""

    username: str
    cookie: str
    csrf: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        found = {"Cookie": f"{SESSION_COOKIE}={self.cookie}"}
        if csrf:
            found["X-CSRF-Token"] = self.csrf
        return found


@dataclass
class World:
    desk: Desk
    app: FastAPI
    client: TestClient
    cases: dict[str, str] = field(default_factory=dict)  # shop -> a case id in that shop
    people: dict[str, Signed] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # role name -> an API token of that role

    def audit_count(self) -> int:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return uow.audit.count()

    def timeline_count(self) -> int:
        """Entries on the sample cases' timelines: one per state change of a case."""
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return sum(len(uow.cases.timeline(case_id)) for case_id in self.cases.values())


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Signed:
    client.cookies.clear()
    form = client.get("/login")
    assert form.status_code == 200, form.text
    token = CSRF_INPUT.search(form.text)
    assert token is not None, form.text
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    page = client.get("/login", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    csrf = CSRF_INPUT.search(page.text)
    assert csrf is not None
    client.cookies.clear()
    return Signed(username, cookie, csrf.group(1))


TOKEN_ROLES = ("viewer", "agent")  # API tokens hold their role in every shop
PEOPLE = {
    "viewer": {OWN: Role.VIEWER},
    "agent": {OWN: Role.AGENT},
    "lead": {OWN: Role.LEAD},
    "admin": {OWN: Role.ADMIN},
    "boss": {ALL_SHOPS: Role.ADMIN},
}


def world(desk: Desk) -> Iterator[World]:
    app = create_app(desk, background=False)
    with TestClient(app, base_url=BASE_URL) as client:
        for shop in (OWN, OTHER):
            for d in deliveries_for(shop):
                response = client.post(
                    "/webhooks/shopify", content=str(d["body"]).encode(), headers=d["headers"]
                )
                assert response.status_code == 200, response.text
        desk.process_pending()
        found = World(desk, app, client)
        with desk.db.unit_of_work(read_only=True) as uow:
            for shop in (OWN, OTHER):
                cases = uow.cases.for_order(shop, ORDER)
                assert cases, f"no case in {shop}"
                found.cases[shop] = cases[0].id
        for name, roles in PEOPLE.items():
            add_person(desk, name, roles)
            found.people[name] = sign_in(client, name)
        with desk.db.unit_of_work() as uow:
            for role in TOKEN_ROLES:
                found.tokens[role] = tokens.create_token(uow, f"script-{role}", role, desk.clock.now())
            uow.commit()
        yield found


def session_digest(signed: Signed) -> str:
    return digest(signed.cookie)
