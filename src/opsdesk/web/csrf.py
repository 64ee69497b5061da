"""CSRF protection for every POST, PUT, PATCH and DELETE of the whole app: the token, and one ASGI middleware.

A state-changing request must carry the CSRF token (``X-CSRF-Token`` header, or the ``csrf_token``
field of a urlencoded form) that matches this browser's cookie (``csrf_token``). Two kinds of
request are let through without one, because a browser cannot be made to send them from another site:
a request with an ``Authorization`` header (a bearer-token API call: the header is not one a cross-site
form or a simple fetch can set, and such calls are authenticated by the header alone, never by the
cookie), and a path declared ``csrf_exempt`` (the Shopify webhook, authenticated by its HMAC).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.web.auth import SESSION_COOKIE, auth_settings, cookie_secure

CSRF_COOKIE = "opsdesk_csrf"  # the seed of the CSRF token before sign-in (the login form's)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MAX_FORM_BYTES = 1024 * 1024
REFUSED = "CSRF token missing or wrong: reload the page and try again"


class CsrfMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        send = self._with_seed_cookie(scope, send)
        if scope["method"] in UNSAFE and not self._exempt(scope):
            headers = Headers(scope=scope)
            presented = headers.get(CSRF_HEADER)
            if presented is None and headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                body = await _read_body(receive)
                if body is None:
                    await _refuse(send, 413, "form too large")
                    return
                presented = next(iter(parse_qs(body.decode("latin-1")).get(CSRF_FIELD, [])), None)
                receive = _replay(body, receive)
            if not csrf_valid(Request(scope).cookies, presented):
                if _from_a_page(headers, scope["path"]):
                    await _refuse_page(send, headers)
                    return
                await _refuse(send, 403, REFUSED)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _exempt(scope: Scope) -> bool:
        if any(name == b"authorization" for name, _ in scope["headers"]):
            return True
        app = scope.get("app")
        exempt: set[str] = getattr(getattr(app, "state", None), "csrf_exempt", set())
        return scope["path"] in exempt

    @staticmethod
    def _with_seed_cookie(scope: Scope, send: Send) -> Send:
        """Set the pre-session CSRF cookie when a page handed out a token made from a new seed; forbid
        framing everywhere (a framed page would let another site click our forms, token and all)."""

        async def sending(message: Message) -> None:
            seed = scope["state"].get("opsdesk_csrf_seed")
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("content-security-policy", "frame-ancestors 'none'")
            if message["type"] == "http.response.start" and seed:
                request = Request(scope)
                desk = request.app.state.desk
                secure = "; Secure" if cookie_secure(request, auth_settings(desk).secure_cookies) else ""
                cookie = f"{CSRF_COOKIE}={seed}; Path=/; HttpOnly; SameSite=Lax{secure}"
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        return sending


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


async def _refuse(send: Send, status: int, error: str) -> None:
    body = orjson.dumps({"error": error})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _from_a_page(headers: Headers, path: str) -> bool:
    """A dashboard form a browser posted, itself or boosted by htmx (not the API, not an htmx fragment): it
    is answered with a page, not JSON (desk.js swaps a boosted form's refusal in)."""
    form = "text/html" in headers.get("accept", "") and not headers.get("hx-request")
    return (form or headers.get("hx-boosted") == "true") and not path.startswith("/api/")


async def _refuse_page(send: Send, headers: Headers) -> None:
    """A form from a page opened before the last sign-in (or sign-out): say so, and link back to that page,
    where reloading gives a form that works; what was typed is still in the tab's history (Back)."""
    referer = urlsplit(headers.get("referer", ""))
    back = referer.path if referer.netloc == headers.get("host") and referer.path.startswith("/") else "/queue"
    if referer.query and back != "/queue":
        back += f"?{referer.query}"
    body = PAGE.format(back=html.escape(back)).encode()
    start = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": start})
    await send({"type": "http.response.body", "body": body})


#: Self-contained: the middleware answers before any route, so no template or session is at hand.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Form expired · opsdesk</title><link rel="stylesheet" href="/static/desk.css"></head>
<body><main id="main"><h1>Nothing was changed</h1><div class="card" role="alert">
<p>This form is from an earlier session (you signed in or out since the page was opened), so it was not
accepted. Open the page again and repeat what you did: <a href="{back}">back to the page</a>.</p>
</div></main></body></html>
"""


def csrf_token(request: Request) -> str:
    """The CSRF token for forms and htmx: an HMAC of the session cookie (or, before sign-in, of a random
    pre-session cookie that the middleware sets on this response)."""
    seed = _csrf_seed(request.cookies, request.scope)
    if seed is None:
        seed = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})["opsdesk_csrf_seed"] = seed
    return _csrf_for(seed)


def _csrf_seed(cookies: Mapping[str, str], scope: Mapping[str, Any]) -> str | None:
    state = scope.get("state") or {}
    return cookies.get(SESSION_COOKIE) or cookies.get(CSRF_COOKIE) or state.get("opsdesk_csrf_seed")


def _csrf_for(seed: str) -> str:
    mac = hmac.new(seed.encode(), b"opsdesk csrf v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_valid(cookies: Mapping[str, str], presented: str | None) -> bool:
    """Whether ``presented`` is the token of this browser's seed: the session cookie when there is one
    (a token from a pre-session cookie, which a sibling domain could plant, is then refused)."""
    seed = cookies.get(SESSION_COOKIE) or cookies.get(CSRF_COOKIE)
    if not presented or not seed:
        return False
    return hmac.compare_digest(_csrf_for(seed), presented)
