"""``GET/POST /login`` and ``POST /logout``: the dashboard's sign-in, with a new session at every sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.services import sessions, users
from opsdesk.web.auth import SESSION_COOKIE, auth_settings, cookie_secure, public
from opsdesk.web.csrf import CSRF_COOKIE, csrf_token

TEMPLATES = Path(__file__).with_name("templates")
HOME = "/"
MESSAGES = {
    "invalid": "Wrong username or password.",
    # Said for unknown usernames too: it does not tell whether the account exists.
    "locked": "Too many failed sign-ins for this username. Try again in an hour.",
}
STATUS = {"invalid": 401, "locked": 429}


def login_router(templates: Jinja2Templates | None = None) -> APIRouter:
    """The sign-in routes; ``templates`` is the dashboard's environment (base.html), if there is one."""
    pages = templates or Jinja2Templates(directory=str(TEMPLATES))
    router = APIRouter(tags=["sign-in"], include_in_schema=False)

    @router.get("/login", dependencies=[Depends(public("the sign-in form"))])
    async def login_form(request: Request, next: str = HOME) -> Response:
        return _form(pages, request, safe_next(next), None, 200)

    @router.post("/login", dependencies=[Depends(public("signing in"))])
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=255)],
        password: Annotated[str, Form(max_length=users.MAX_PASSWORD)],
        next: Annotated[str, Form(max_length=2000)] = HOME,
    ) -> Response:
        desk: Desk = request.app.state.desk
        old = request.cookies.get(SESSION_COOKIE)
        outcome, token = await run_in_threadpool(_sign_in, desk, username, password, old)
        if token is None:
            return _form(pages, request, safe_next(next), outcome, STATUS[outcome], username)
        response = RedirectResponse(safe_next(next), status_code=303)
        _set_session_cookie(request, response, desk, token)
        return response

    @router.post("/logout", dependencies=[Depends(public("signing out ends whatever session is sent"))])
    async def logout(request: Request) -> Response:
        desk: Desk = request.app.state.desk
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await run_in_threadpool(_sign_out, desk, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


def add_login_routes(app: FastAPI, templates: Jinja2Templates | None = None) -> None:
    app.include_router(login_router(templates))


def safe_next(target: str) -> str:
    """Only a path on this site: ``//evil.example``, ``/\\evil``, schemes and control characters go home."""
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\", "/login"))
        or any(c < " " for c in target)
    ):
        return HOME
    return target


def _sign_in(desk: Desk, username: str, password: str, old: str | None) -> tuple[str, str | None]:
    settings, now = auth_settings(desk), desk.clock.now()
    with desk.db.unit_of_work() as uow:
        result = users.authenticate(uow, username, password, now=now, throttle=settings.throttle)
        token = None
        if result.user is not None:
            token = sessions.start_session(uow, result.user, now=now, policy=settings.policy, replacing=old)
        uow.commit()
    return result.outcome, token


def _sign_out(desk: Desk, token: str) -> None:
    with desk.db.unit_of_work() as uow:
        sessions.end_session(uow, token, now=desk.clock.now())
        uow.commit()


def _set_session_cookie(request: Request, response: Response, desk: Desk, token: str) -> None:
    settings = auth_settings(desk)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.policy.absolute_seconds,
        path="/",
        secure=cookie_secure(request, settings.secure_cookies),
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(CSRF_COOKIE, path="/")


def _form(
    pages: Jinja2Templates,
    request: Request,
    next_url: str,
    outcome: str | None,
    status: int,
    username: str = "",
) -> Response:
    context = {
        "csrf": csrf_token(request),
        "next": next_url,
        "error": MESSAGES.get(outcome or ""),
        "username": username,
        "principal": None,
    }
    response = pages.TemplateResponse(request, "login.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response
