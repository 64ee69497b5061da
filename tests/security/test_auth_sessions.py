"""Sign-in and sessions over real HTTP (reliability.md test 11): the ASVS figures, one by one.

Session tokens of at least 128 bits, new at every sign-in; idle timeout 30 min, absolute 12 h; cookies
HttpOnly, Secure, SameSite; sign-out, a password change and disabling end sessions; at most the
configured number of failed sign-ins an hour per account (≤ 100), counted in the database.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from opsdesk.domain.access import Role
from opsdesk.services import users
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from opsdesk.web.auth import SESSION_COOKIE
from opsdesk.web.csrf import CSRF_COOKIE
from tests.integration.desk_harness import make_desk
from tests.samples import SHOP
from tests.security.harness import (
    BASE_URL,
    CSRF_INPUT,
    NOW,
    OWN,
    PASSWORD,
    Signed,
    add_person,
    sign_in,
    two_shop_desk,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path}/opsdesk.db"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str):  # type: ignore[no-untyped-def]
    desk = two_shop_desk(tmp_path, monkeypatch, database_url)
    add_person(desk, "alice", {OWN: Role.AGENT}, person_id="alice")
    return desk


@pytest.fixture
def client(desk) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(desk, background=False), base_url=BASE_URL) as client:
        yield client


def clock(desk) -> ManualClock:  # type: ignore[no-untyped-def]
    assert isinstance(desk.clock, ManualClock)
    return desk.clock


def cases(client: TestClient, who: Signed) -> int:
    client.cookies.clear()
    return client.get("/api/v1/cases", headers=who.headers(csrf=False)).status_code


def post_login(client: TestClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    form = client.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token is not None
    data = {"username": username, "password": password, "csrf_token": token.group(1), **extra}
    client.cookies.clear()  # sent by hand: a Secure cookie would not go back over plain http
    cookie = {"Cookie": f"{CSRF_COOKIE}={form.cookies[CSRF_COOKIE]}"}
    return client.post("/login", data=data, headers=cookie, follow_redirects=False)


def test_a_session_token_carries_256_random_bits_and_only_its_digest_is_stored(client, desk) -> None:
    alice = sign_in(client, "alice")
    raw = base64.urlsafe_b64decode(alice.cookie + "=" * (-len(alice.cookie) % 4))
    assert len(raw) * 8 >= 128
    assert isinstance(desk.db, SqlDatabase)
    with desk.db.engine.connect() as conn:
        tables = ("sessions", "users", "audit", "login_failures")
        dump = "\n".join(str(row) for table in tables for row in conn.execute(text(f"SELECT * FROM {table}")))
    assert alice.cookie not in dump
    assert PASSWORD not in dump


def test_every_sign_in_starts_a_new_session_and_ends_the_one_the_browser_brought(client) -> None:
    first = sign_in(client, "alice")
    client.cookies.clear()
    form = client.get("/login", headers={"Cookie": f"{SESSION_COOKIE}={first.cookie}"})
    token = CSRF_INPUT.search(form.text)
    assert token is not None
    replaced = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token.group(1)},
        headers={"Cookie": f"{SESSION_COOKIE}={first.cookie}"},
        follow_redirects=False,
    )
    assert replaced.status_code == 303
    second = replaced.cookies[SESSION_COOKIE]
    assert second != first.cookie
    assert cases(client, first) == 401
    assert cases(client, Signed("alice", second, "")) == 200


def test_the_session_cookie_is_httponly_secure_samesite_and_for_the_whole_site(client) -> None:
    response = post_login(client, "alice", PASSWORD)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/", "Max-Age=43200"):
        assert flag in cookie


def test_secure_is_left_off_only_for_plain_http_on_loopback(desk) -> None:
    app = create_app(desk, background=False)
    for base, secure in (
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://desk.example.com", True),
        ("https://127.0.0.1", True),
    ):
        with TestClient(app, base_url=base) as client:
            response = post_login(client, "alice", PASSWORD)
            assert response.status_code == 303
            assert ("Secure" in response.headers["set-cookie"]) is secure, base
            client.cookies.clear()
            pre_session = client.get("/login").headers["set-cookie"]
            assert pre_session.startswith(f"{CSRF_COOKIE}=")
            assert ("Secure" in pre_session) is secure, base


def test_a_session_ends_after_30_idle_minutes(client, desk) -> None:
    alice = sign_in(client, "alice")
    clock(desk).advance(minutes=29)
    assert cases(client, alice) == 200
    clock(desk).advance(minutes=29)  # the request above moved the idle clock
    assert cases(client, alice) == 200
    clock(desk).advance(minutes=30)
    assert cases(client, alice) == 401


def test_a_busy_session_still_ends_12_hours_after_sign_in(client, desk) -> None:
    alice = sign_in(client, "alice")
    for _ in range(12 * 3 - 1):
        clock(desk).advance(minutes=20)
        assert cases(client, alice) == 200
    clock(desk).advance(minutes=20)  # 12 h after sign-in
    assert cases(client, alice) == 401


def test_pages_send_a_signed_out_browser_to_the_login_form_and_back(client) -> None:
    client.cookies.clear()
    response = client.get("/queue?view=all", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queue%3Fview%3Dall"
    signed = post_login(client, "alice", PASSWORD, next="/queue?view=all")
    assert signed.headers["location"] == "/queue?view=all"


def test_htmx_is_told_to_go_to_the_login_form_rather_than_handed_it_inside_a_fragment(client) -> None:
    client.cookies.clear()
    page = "https://testserver/queue?view=all"
    headers = {"HX-Request": "true", "HX-Current-URL": page}
    response = client.get("/queue/rows?view=all", headers=headers, follow_redirects=False)
    assert (response.status_code, response.headers["hx-redirect"]) == (401, "/login?next=/queue%3Fview%3Dall")
    elsewhere = {"HX-Request": "true", "HX-Current-URL": "https://testserver//evil.example/x"}
    response = client.get("/queue/rows", headers=elsewhere, follow_redirects=False)
    assert response.headers["hx-redirect"] == "/login?next=/"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:x", "/login?next=/login"],
)
def test_after_sign_in_only_a_path_on_this_site_is_followed(client, target: str) -> None:
    response = post_login(client, "alice", PASSWORD, next=target)
    assert (response.status_code, response.headers["location"]) == (303, "/")


def test_sign_out_ends_the_session_on_the_server(client) -> None:
    alice = sign_in(client, "alice")
    client.cookies.clear()
    response = client.post("/logout", headers=alice.headers(), follow_redirects=False)
    assert response.status_code == 303
    assert (
        f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    assert cases(client, alice) == 401


def test_a_password_change_and_disabling_end_every_session(client, desk) -> None:
    first, second = sign_in(client, "alice"), sign_in(client, "alice")
    with desk.db.unit_of_work() as uow:
        users.set_password(uow, "alice", "a brand new long password", now=desk.clock.now())
        uow.commit()
    assert (cases(client, first), cases(client, second)) == (401, 401)
    assert post_login(client, "alice", PASSWORD).status_code == 401
    third = sign_in(client, "alice", "a brand new long password")
    with desk.db.unit_of_work() as uow:
        users.disable_user(uow, "alice", now=desk.clock.now())
        uow.commit()
    assert cases(client, third) == 401
    assert post_login(client, "alice", "a brand new long password").status_code == 401


def test_failed_sign_ins_lock_the_account_for_the_hour_and_say_the_same_for_unknown_names(
    client, desk
) -> None:
    limit = desk.settings.file.auth.max_failed_logins_per_hour
    assert limit <= 100
    for name in ("alice", "nobody-here"):
        for _ in range(limit):
            response = post_login(client, name, "wrong password!")
            assert response.status_code == 401
            assert "Wrong username or password." in response.text
        locked = post_login(client, name, PASSWORD if name == "alice" else "wrong password!")
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this username" in locked.text
    clock(desk).advance(minutes=61)
    assert post_login(client, "alice", PASSWORD).status_code == 303


def test_the_lock_is_kept_in_the_database_so_every_process_sees_it(
    tmp_path, monkeypatch, desk, database_url
) -> None:
    limit = desk.settings.file.auth.max_failed_logins_per_hour
    with desk.db.unit_of_work() as uow:
        for _ in range(limit):
            assert (
                users.authenticate(uow, "alice", "wrong password!", now=desk.clock.now()).outcome == "invalid"
            )
        uow.commit()
    other = two_shop_desk(
        tmp_path, monkeypatch, database_url
    )  # a second desk: its own engine, the same database
    with other.db.unit_of_work() as uow:
        assert users.authenticate(uow, "alice", PASSWORD, now=desk.clock.now()).outcome == "locked"


def test_sign_in_writes_one_audit_record_per_attempt_and_sign_out_one(client, desk) -> None:
    def actions() -> list[str]:
        with desk.db.unit_of_work(read_only=True) as uow:
            return [r.action for r in uow.audit.chain(0, 1000) if r.subject == "user:alice"]

    before = actions()
    post_login(client, "alice", "wrong password!")
    alice = sign_in(client, "alice")
    client.cookies.clear()
    client.post("/logout", headers=alice.headers())
    assert actions()[len(before) :] == ["login.failed", "session.start", "session.end"]


def test_secure_can_be_forced_for_loopback_too(tmp_path, monkeypatch) -> None:
    desk = two_shop_desk(tmp_path, monkeypatch, None)
    (tmp_path / "always").mkdir()
    desk2 = make_desk(tmp_path / "always", monkeypatch, auth={"secure_cookies": "always"})
    for d, secure in ((desk, False), (desk2, True)):
        with TestClient(create_app(d, background=False), base_url="http://127.0.0.1:8000") as client:
            assert ("Secure" in client.get("/login").headers["set-cookie"]) is secure


def test_a_busy_database_does_not_turn_a_page_view_into_an_error(tmp_path, monkeypatch) -> None:
    desk = make_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), sqlite_busy_timeout_ms=50)
    add_person(desk, "alice", {SHOP: Role.AGENT})
    with TestClient(create_app(desk, background=False), base_url=BASE_URL) as client:
        alice = sign_in(client, "alice")
        clock(desk).advance(minutes=5)  # the session's last_seen is due to be written
        with desk.db.unit_of_work():  # someone else holds the write turn
            assert cases(client, alice) == 200
        clock(desk).advance(minutes=26)  # the touch was skipped: 31 minutes since the last one written
        assert cases(client, alice) == 401
