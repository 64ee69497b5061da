"""The one shape of every error the JSON API answers: ``{"error": "<a sentence>"}`` (ADR 0054).

An error may add what its client acts on (``holder`` on a 409, ``problems`` on a 422), never the input it was
sent (a 50 MB note is not sent back) and never a traceback: whatever escapes a route is a 500 with the same
shape, and its traceback goes to the log only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from opsdesk.domain.errors import Conflict, DataRefused, InvalidInput, NotFound, OpsdeskError, Unavailable

STATUS = {NotFound: 404, Conflict: 409, InvalidInput: 400, DataRefused: 422, Unavailable: 503}
INTERNAL = "internal error: the server's log has the details"


async def opsdesk_error(_request: Request, exc: Exception) -> Response:
    """A refusal of the core, by its kind; a 409 names who holds the case."""
    assert isinstance(exc, OpsdeskError)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, Conflict) and exc.holder:
        body["holder"] = exc.holder
    return JSONResponse(body, status_code=status)


async def http_error(_request: Request, exc: Exception) -> Response:
    """401, 403, 404, 413, ... raised by a route or by the framework, with their headers (``WWW-Authenticate``)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def invalid_request(_request: Request, exc: Exception) -> Response:
    """422 naming each field that is wrong and why, in one sentence and as ``problems`` for a script."""
    assert isinstance(exc, RequestValidationError)
    problems = [{"at": _where(e.get("loc", ())), "problem": str(e.get("msg", "not valid"))} for e in exc.errors()]
    sentence = "; ".join(f"{p['at']}: {p['problem']}" for p in problems)
    return JSONResponse({"error": f"the request is not valid: {sentence}", "problems": problems}, status_code=422)


async def internal_error(_request: Request, _exc: Exception) -> Response:
    """What a client sees of a bug: a 500 in the same shape (the traceback is logged by the server)."""
    return JSONResponse({"error": INTERNAL}, status_code=500)


def _where(loc: Sequence[Any] | Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, Sequence) else str(loc)
