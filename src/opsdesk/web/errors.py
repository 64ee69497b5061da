"""The one shape of every error the JSON API answers: ``{"error": "<a sentence>"}`` (ADR 0054).

An error may add what its client acts on (``holder`` on a 409, ``problems`` on a 422), never the input it was
sent (a 50 MB note is not sent back) and never a traceback: whatever escapes a route is a 500 with the same
shape, and its traceback goes to the log only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from opsdesk.domain.errors import Conflict, DataRefused, InvalidInput, NotFound, OpsdeskError, Unavailable
from opsdesk.web.content_type import document_unsupported

STATUS = {NotFound: 404, Conflict: 409, InvalidInput: 400, DataRefused: 422, Unavailable: 503}
#: Bytes of an API request's body: far over the largest (an action with a 10,000-character note, 60 KB escaped).
MAX_API_BODY = 256 * 1024
TOO_LARGE = "the body is over the limit of {} bytes"
INTERNAL = "internal error: the server's log has the details"
#: What a 422 holds, for the OpenAPI document (FastAPI's own names ``detail``, which no answer carries).
INVALID_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["error", "problems"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, in one sentence"},
        "problems": {"type": "array", "items": {
            "type": "object",
            "required": ["at", "problem"],
            "properties": {
                "at": {"type": "string", "description": "where: body.amount, query.limit, path.order_id"},
                "problem": {"type": "string"},
            },
        }},
    },
}


async def opsdesk_error(_request: Request, exc: Exception) -> Response:
    """A refusal of the core, by its kind; a 409 names who holds the case."""
    assert isinstance(exc, OpsdeskError)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, Conflict) and exc.holder:
        body["holder"] = exc.holder
    return JSONResponse(body, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    """401, 403, 404, 413, ... raised by a route or by the framework, with their headers (``WWW-Authenticate``)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    message = TOO_LARGE.format(_limit(request)) if exc.status_code == 413 else str(exc.detail)
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def invalid_request(_request: Request, exc: Exception) -> Response:
    """422 naming each field that is wrong and why, in one sentence and as ``problems`` for a script."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"at": _where(e.get("loc", ())), "problem": str(e.get("msg", "not valid"))} for e in exc.errors()]
    sentence = "; ".join(f"{p['at']}: {p['problem']}" for p in problems)
    return JSONResponse({"error": f"the request is not valid: {sentence}", "problems": problems}, status_code=422)


async def internal_error(_request: Request, _exc: Exception) -> Response:
    """What a client sees of a bug: a 500 in the same shape (the traceback is logged by the server)."""
    return JSONResponse({"error": INTERNAL}, status_code=500)


def document_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document describe the 422 that ``invalid_request`` answers, and the 415 of a body
    that is not JSON (``json_content``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = build().setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("ValidationError", None)
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = INVALID_SCHEMA
            document_unsupported(app.openapi_schema or {})
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to change the document


def _where(loc: Sequence[Any] | Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, Sequence) else str(loc)


def _limit(request: Request) -> str:
    route = request.scope.get("route")
    limit = getattr(route, "max_body_size", None)
    return str(limit) if isinstance(limit, int) else "this route's"


class DeclaredBodyLimit:
    """413 in the error shape, unread, for an API request that declares a ``Content-Length`` over the limit.

    A body sent without a length is counted by the route's ``max_body_size`` as it is read, and its 413 comes
    through ``http_error``; but for one that declares its length Starlette swaps that answer for plain text.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_API_BODY, prefix: str = "/api/") -> None:
        self.app, self.limit, self.prefix = app, limit, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.limit:
                await JSONResponse({"error": TOO_LARGE.format(self.limit)}, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)
