"""Who is asking, and may they: sessions and bearer tokens, roles per shop, CSRF on every state change.

HOW TO DECLARE A ROUTE (tests/security/test_route_table.py fails for a route that does not):

- An HTML page: ``principal: Annotated[Principal, Depends(require_page(Role.VIEWER))]``. Not signed in
  -> 303 to ``/login?next=...``; signed in but no shop where the role is held -> 403.
- A JSON route: ``Depends(require_api(Role.AGENT))`` (a bearer token, or the session cookie).
- Whatever belongs to one shop (a case, an order, ``?shop=``): call ``ensure_shop(principal, shop, role)``
  once the shop is known (404 when the principal has no role there, 403 when it is too low), and filter
  lists to ``principal.shops_with(role)``. Aggregates over every shop: ``require_api(role, every_shop=True)``.
- A route anyone may call: ``dependencies=[Depends(public("why"))]``; a plain Starlette route or mount:
  ``declare_public(app, path, why)``.
- Forms carry ``<input type="hidden" name="csrf_token" value="{{ csrf }}">`` with ``csrf=csrf_token(request)``
  (``web.csrf``); htmx sends it as the ``X-CSRF-Token`` header (``hx-headers`` on <body>, see base.html). The
  middleware (``web.csrf``) checks every POST/PUT/PATCH/DELETE; nothing to do per route.

The route test reads the declarations with ``web.route_table``: for each route, role and shop it expects a
2xx exactly where the declaration allows one. Its sample values for path parameters live in the test
(``SAMPLES``); a new parameter name needs a sample there.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.domain.access import Principal, Role, SessionPolicy, Throttle
from opsdesk.domain.errors import Unavailable
from opsdesk.domain.records import ApiToken
from opsdesk.services import sessions, tokens, users

__all__ = [
    "SESSION_COOKIE",
    "Access",
    "Principal",
    "Role",
    "declare_public",
    "ensure_shop",
    "public",
    "require_api",
    "require_page",
]

SESSION_COOKIE = "opsdesk_session"
LOOPBACK_NAMES = frozenset({"localhost"})
#: Only so that the OpenAPI document names the bearer scheme; the header is read by ``_from_bearer``.
BEARER = HTTPBearer(auto_error=False, description="opsdesk tokens create NAME --role ROLE")


@dataclass(frozen=True, slots=True)
class Access:
    """What a route asks for: a role (None: public), held in some shop or, with ``every_shop``, in all."""

    role: Role | None
    every_shop: bool = False
    reason: str = ""
    kind: Literal["page", "api", "public"] = "api"


Dependency = Callable[..., Awaitable[Principal | None]]


def _mark(call: Dependency, access: Access) -> Dependency:
    call.opsdesk_access = access  # type: ignore[attr-defined]  # read by route_table
    return call


def require_page(role: Role, *, every_shop: bool = False) -> Dependency:
    """A dependency for HTML pages: the signed-in principal, or a redirect to the login page."""

    async def page_principal(request: Request) -> Principal:
        signed_in = await _from_session(request)
        if signed_in is None:
            raise _to_login(request)
        _check_role(request, signed_in, role, every_shop)
        return signed_in

    return _mark(page_principal, Access(role, every_shop, kind="page"))


def _to_login(request: Request) -> HTTPException:
    """303 to the login form, coming back here after; htmx gets ``HX-Redirect`` (it would follow a 303
    itself and put the login form inside the fragment it asked for)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"/login?next={quote(back if request.method == 'GET' else _form_page(request))}"
    if request.headers.get("hx-request"):
        # Come back to the page the fragment was on, not the fragment; only its path and query are kept.
        page = urlsplit(request.headers.get("hx-current-url", ""))
        local = page.path.startswith("/") and not page.path.startswith("//")
        back = page.path + (f"?{page.query}" if page.query else "") if local else "/"
        return HTTPException(401, "sign in first", headers={"HX-Redirect": f"/login?next={quote(back)}"})
    return HTTPException(303, "sign in first", headers={"Location": target})


def _form_page(request: Request) -> str:
    """The page a form was posted from (its ``Referer``, on this site only), to come back to after signing
    in again: a session that ended while a form was open does not send its person to the home page."""
    page = urlsplit(request.headers.get("referer", ""))
    if page.netloc != request.headers.get("host") or not page.path.startswith("/") or page.path.startswith("//"):
        return "/"
    return page.path + (f"?{page.query}" if page.query else "")


def require_api(role: Role, *, every_shop: bool = False) -> Dependency:
    """A dependency for JSON routes: a bearer token when one is sent, else the session cookie."""

    async def api_principal(
        request: Request, _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Principal:
        principal = (
            await _from_bearer(request)
            if request.headers.get("authorization") is not None
            else await _from_session(request)
        )
        if principal is None:
            raise HTTPException(401, "sign in or send a bearer token", headers={"WWW-Authenticate": "Bearer"})
        _check_role(request, principal, role, every_shop)
        return principal

    return _mark(api_principal, Access(role, every_shop, kind="api"))


def public(reason: str) -> Dependency:
    """Declare a route open to anyone (health checks, the login form); the reason is for reviewers."""

    async def anyone(request: Request) -> None:
        return None

    return _mark(anyone, Access(None, reason=reason, kind="public"))


def declare_public(app: FastAPI, path: str, reason: str, *, csrf_exempt: bool = False) -> None:
    """Declare a Starlette route or mount public; ``csrf_exempt`` only for requests signed otherwise."""
    app.state.public_routes = {**getattr(app.state, "public_routes", {}), path: reason}
    if csrf_exempt:
        app.state.csrf_exempt = {*getattr(app.state, "csrf_exempt", set()), path}


def ensure_shop(principal: Principal, shop: str, role: Role) -> None:
    """404 when the principal holds no role in ``shop`` (its data does not exist for them), 403 when too low."""
    held = principal.role_in(shop)
    if held is None:
        raise HTTPException(404, "not found")
    if held < role:
        raise HTTPException(403, f"needs role {role.label} or above in {shop}; you are {held.label}")


def ensure_every_shop(request: Request, principal: Principal, role: Role) -> None:
    missing = [s for s in _shops(request) if (principal.role_in(s) or 0) < role]
    if missing:
        raise HTTPException(
            403, f"needs role {role.label} or above in every shop; not in {', '.join(missing)}"
        )


def _check_role(request: Request, principal: Principal, role: Role, every_shop: bool) -> None:
    if every_shop:
        ensure_every_shop(request, principal, role)
    if not principal.shops_with(role):  # also when no shop is configured: nobody holds a role then
        held = principal.highest
        raise HTTPException(
            403, f"needs role {role.label} or above; you are {held.label if held else 'nobody'}"
        )


# --- who is asking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthSettings:
    policy: SessionPolicy
    throttle: Throttle
    secure_cookies: Literal["auto", "always"]


def auth_settings(desk: Desk) -> AuthSettings:
    cfg = desk.settings.file.auth
    return AuthSettings(
        SessionPolicy(
            idle_seconds=cfg.session_idle_minutes * 60, absolute_seconds=cfg.session_absolute_hours * 3600
        ),
        Throttle(max_failures=cfg.max_failed_logins_per_hour, window_seconds=3600),
        cfg.secure_cookies,
    )


def _desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def _shops(request: Request) -> tuple[str, ...]:
    return tuple(s.domain for s in _desk(request).settings.file.shops)


async def _from_session(request: Request) -> Principal | None:
    state = request.scope.setdefault("state", {})
    if "opsdesk_principal" in state:  # several dependencies of one request ask once
        cached: Principal | None = state["opsdesk_principal"]
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    principal = await run_in_threadpool(_resume, _desk(request), token, _shops(request)) if token else None
    state["opsdesk_principal"] = principal
    return principal


def _resume(desk: Desk, token: str, shops: tuple[str, ...]) -> Principal | None:
    now, policy = desk.clock.now(), auth_settings(desk).policy
    with desk.db.unit_of_work(read_only=True) as uow:
        resumed = sessions.resume_session(uow, token, now=now, policy=policy)
    if resumed is None:
        return None
    if resumed.stale:  # a write at most once a minute per session, not on every request
        # Best effort: a busy database must not turn a page view into a 503; the next request tries
        # again, and until then the idle clock only runs out sooner.
        with contextlib.suppress(Unavailable), desk.db.unit_of_work() as uow:
            sessions.touch_session(uow, resumed.session.digest, now)
            uow.commit()
    return users.principal_for(resumed.user, shops, session_id=resumed.session.digest)


async def _from_bearer(request: Request) -> Principal:
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})
    token = await run_in_threadpool(_token, _desk(request), credentials.strip())
    if token is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    role = Role.parse(token.role)
    # API tokens predate per-shop roles: a token holds its role in every configured shop.
    return Principal(token.name, token.name, token.name, dict.fromkeys(_shops(request), role), None)


def _token(desk: Desk, value: str) -> ApiToken | None:
    with desk.db.unit_of_work(read_only=True) as uow:
        return tokens.authenticate(uow, value)


def cookie_secure(request: Request, mode: Literal["auto", "always"]) -> bool:
    """Whether cookies get the Secure flag: ``auto`` leaves it off only for plain http on loopback (dev)."""
    host = request.url.hostname or ""
    if mode == "always" or request.url.scheme == "https":
        return True
    if host in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
