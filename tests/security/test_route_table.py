"""Every route of the real app, walked from its route table (so a new route is covered the day it lands).

1. Every route declares who may call it (``web/auth.py``: ``require_page``, ``require_api``, ``public``).
2. Every state-changing route refuses a request without the CSRF token, with a wrong one, and with the
   token of someone else's session (reliability.md test 11).
3. Every route x role (none, viewer, agent, lead, admin, and an admin of every shop) x shop (own,
   other) answers 2xx only where its declaration allows it, and where it is allowed it is not refused;
   a state change that succeeds writes exactly one audit record, a refused one writes none (test 12).

A bulk form (cases named in the body, ``case``) may answer 200 with a refusal for each case it may not
touch; it must change nothing. A route's shop is found through its parameters: a path, query or form
parameter named in ``samples`` takes that shop's value (a case of that shop, its order, the shop
itself). A route with a path parameter the test has no sample for fails: add the sample here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from opsdesk.domain.access import Role
from opsdesk.web.csrf import CSRF_COOKIE, REFUSED
from opsdesk.web.route_table import RouteEntry, route_table
from tests.conftest import postgres_server_url
from tests.security.harness import (
    CSRF_INPUT,
    ORDER,
    OTHER,
    OWN,
    PEOPLE,
    TOKEN_ROLES,
    World,
    sign_in,
    two_shop_desk,
    world,
)

SHOPS = (OWN, OTHER)
WHO = (None, *PEOPLE, *(f"token:{r}" for r in TOKEN_ROLES))
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Parameters that carry no shop and need a value: a fixed one works for every shop.
FIXED = {"action": "comment", "note": "checked by the route table", "next": "/", "q": "1001"}


def samples(w: World, shop: str) -> dict[str, str]:
    return {"case_id": w.cases[shop], "case": w.cases[shop], "order_id": str(ORDER), "shop": shop}


SHOP_PARAMS = {"case_id", "case", "order_id", "shop"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def w(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world per backend for the whole module (signing everyone in costs an Argon2 check each)."""
    with pytest.MonkeyPatch.context() as monkeypatch, contextlib.ExitStack() as stack:
        url = stack.enter_context(pg_schema(request)) if request.param == "postgres" else None
        desk = two_shop_desk(tmp_path_factory.mktemp("routes"), monkeypatch, url)
        yield from world(desk)
        desk.db.dispose()  # type: ignore[attr-defined]


@contextlib.contextmanager
def pg_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL schema of its own for the module (``pg_url`` lives for one test only)."""
    server: Engine = request.getfixturevalue("pg_server")
    schema = f"opsdesk_routes_{uuid.uuid4().hex[:12]}"
    with server.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(postgres_server_url())
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with server.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def routes(w: World) -> list[tuple[RouteEntry, str]]:
    return [(e, m) for e in route_table(w.app) for m in sorted(e.methods)]


def roles_of(who: str | None) -> dict[str, Role]:
    if who is None:
        return {}
    if who.startswith("token:"):
        return dict.fromkeys(SHOPS, Role.parse(who.removeprefix("token:")))
    declared = PEOPLE[who]
    return {s: declared.get(s) or declared["*"] for s in SHOPS if s in declared or "*" in declared}


def shop_bound(entry: RouteEntry) -> bool:
    return bool((entry.path_params | entry.query_params | entry.body_params) & SHOP_PARAMS)


def bulk(entry: RouteEntry, method: str) -> bool:
    """A form that names its cases in the body may answer 200 with a refusal per case (changing nothing)."""
    return method in UNSAFE and "case" in entry.body_params


def allowed(entry: RouteEntry, who: str | None, shop: str) -> bool:
    assert entry.access is not None and entry.access.role is not None
    needed, held = entry.access.role, roles_of(who)
    if who and who.startswith("token:") and entry.access.kind == "page":
        return False  # pages take a signed-in person, never an API token
    if entry.access.every_shop:
        return all(held.get(s, 0) >= needed for s in SHOPS)
    if shop_bound(entry):
        return held.get(shop, 0) >= needed
    return any(r >= needed for r in held.values())


def succeeded(response: httpx.Response) -> bool:
    if 200 <= response.status_code < 300:
        return True
    location = response.headers.get("location", "")
    return 300 <= response.status_code < 400 and not location.startswith("/login")


def call(
    w: World, entry: RouteEntry, method: str, shop: str, headers: dict[str, str], csrf: str | None
) -> httpx.Response:
    values = {**FIXED, **samples(w, shop)}
    missing = entry.path_params - values.keys()
    assert not missing, (
        f"{entry.path}: no sample for path parameter(s) {sorted(missing)}; add one to samples()"
    )
    path = entry.path.format(**{p: values[p] for p in entry.path_params})
    params = {q: values[q] for q in entry.query_params if q in values}
    w.client.cookies.clear()
    if entry.access is not None and entry.access.kind == "api" and "body" in entry.body_params:
        # A JSON API route (the case actions): a note is what every action accepts.
        if csrf is not None:
            headers = {**headers, "X-CSRF-Token": csrf}
        body = {"note": FIXED["note"]}
        return w.client.request(
            method, path, params=params, json=body, headers=headers, follow_redirects=False
        )
    form = {f: values[f] for f in entry.body_params if f in values}
    if csrf is not None:
        form["csrf_token"] = csrf
    data = form if method in UNSAFE and (form or csrf) else None
    return w.client.request(method, path, params=params, data=data, headers=headers, follow_redirects=False)


def test_every_route_declares_who_may_call_it(w: World) -> None:
    undeclared = [e.path for e in route_table(w.app) if e.access is None]
    assert undeclared == [], f"routes without require_page/require_api/public: {undeclared}"
    assert len(route_table(w.app)) >= 15  # the walk sees included routers too


def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(w: World) -> None:
    agent = w.people["agent"]
    exempt = getattr(w.app.state, "csrf_exempt", set())
    checked = 0
    for entry, method in routes(w):
        if method not in UNSAFE or entry.path in exempt:
            continue
        boss = sign_in(w.client, "boss")  # a session of its own: the route may be /logout
        for label, token in (("missing", None), ("wrong", "x" * 43), ("another session's", agent.csrf)):
            before = w.audit_count()
            headers = boss.headers(csrf=False)
            if token is not None:
                headers["X-CSRF-Token"] = token
            response = call(w, entry, method, OWN, headers, None)
            assert response.status_code == 403, (
                f"{method} {entry.path} with a {label} token: {response.status_code}"
            )
            assert response.json() == {"error": REFUSED}
            assert w.audit_count() == before
        # The same request with the right token gets past the check (whatever the route then says).
        response = call(w, entry, method, OWN, boss.headers(csrf=False), boss.csrf)
        assert REFUSED not in response.text, f"{method} {entry.path} refused the right token"
        checked += 1
    assert checked >= 4


def test_a_form_field_carries_the_token_as_well_as_the_header(w: World) -> None:
    other = sign_in(w.client, "viewer")  # a second session of the viewer, signed out here
    form = call(w, _entry(w, "/logout"), "POST", OWN, other.headers(csrf=False), other.csrf)
    assert (form.status_code, form.headers["location"]) == (303, "/login")
    w.client.cookies.clear()
    after = w.client.get("/api/v1/cases", headers=other.headers(csrf=False))
    assert after.status_code == 401


def test_no_route_answers_2xx_to_a_role_or_shop_it_does_not_allow(w: World) -> None:
    anonymous = _anonymous_csrf(w)
    failures: list[str] = []
    changes = 0
    for entry, method in routes(w):
        assert entry.access is not None
        if entry.access.kind == "public":
            continue
        for who in WHO:
            for shop in SHOPS:
                problems, changed = _check(w, entry, method, who, shop, anonymous)
                failures += problems
                changes += changed
    assert failures == []
    assert changes >= 10  # allowed state changes did happen (and were audited)


def _check(
    w: World, entry: RouteEntry, method: str, who: str | None, shop: str, anonymous: tuple[str, str]
) -> tuple[list[str], int]:
    """What is wrong with this call, and how many state changes (case timeline entries) it made."""
    if who is None:
        headers = {"Cookie": f"{CSRF_COOKIE}={anonymous[0]}", "X-CSRF-Token": anonymous[1]}
    elif who.startswith("token:"):
        headers = {"Authorization": f"Bearer {w.tokens[who.removeprefix('token:')]}"}
    else:
        headers = w.people[who].headers()
    before, timeline = w.audit_count(), w.timeline_count()
    response = call(w, entry, method, shop, headers, None)
    written, changed = w.audit_count() - before, w.timeline_count() - timeline
    where = f"{method} {entry.path} as {who or 'nobody'} in {'own' if shop == OWN else 'other'} shop"
    problems = []
    if allowed(entry, who, shop):
        to_login = response.headers.get("location", "").startswith("/login")
        if response.status_code in (401, 403, 404) or response.status_code >= 500 or to_login:
            problems.append(f"{where}: allowed but got {response.status_code} {response.text[:200]}")
    elif changed or written:
        problems.append(f"{where}: NOT allowed but changed something ({response.status_code})")
    elif succeeded(response) and not bulk(entry, method):
        problems.append(f"{where}: NOT allowed but got {response.status_code}")
    # Every state change writes exactly one audit record; a refused or reading request writes none.
    expected = changed if method in UNSAFE and succeeded(response) else 0
    if written != expected or changed != expected:
        problems.append(f"{where}: {response.status_code} made {changed} changes, {written} audit records")
    return problems, changed


def _anonymous_csrf(w: World) -> tuple[str, str]:
    """A browser that has seen the login form but not signed in: a pre-session cookie and its token."""
    w.client.cookies.clear()
    page = w.client.get("/login")
    found = CSRF_INPUT.search(page.text)
    assert found is not None
    return page.cookies[CSRF_COOKIE], found.group(1)


def _entry(w: World, path: str) -> RouteEntry:
    return next(e for e in route_table(w.app) if e.path == path)


def test_a_bearer_token_call_needs_no_csrf_token_and_keeps_working(w: World) -> None:
    from opsdesk.services import tokens

    with w.desk.db.unit_of_work() as uow:
        value = tokens.create_token(uow, "script", "agent", w.desk.clock.now())
        uow.commit()
    w.client.cookies.clear()
    response = w.client.post(
        f"/api/v1/cases/{w.cases[OTHER]}/comment",
        json={"note": "from a script"},
        headers={"Authorization": f"Bearer {value}"},
    )
    assert response.status_code == 200, response.text
    refused = w.client.post(
        f"/api/v1/cases/{w.cases[OTHER]}/comment", headers={"Authorization": "Bearer odk_not-a-token"}
    )
    assert refused.status_code == 401


def test_no_page_may_be_framed_by_another_site(w: World) -> None:
    w.client.cookies.clear()
    for path in ("/login", "/healthz", "/api/v1/cases"):
        response = w.client.get(path)
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
