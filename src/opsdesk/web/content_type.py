"""A JSON body sent as something else is refused 415, not 422 (ADR 0059).

FastAPI reads a body that does not say it is JSON (``text/plain``, a form, no ``Content-Type``) as bytes and
answers its validation error, as if the JSON were wrong. The one dependency of the whole app (``create_app``) sees
every route, those added later too: a route that reads a JSON body answers 415 in the API's error shape
(ADR 0054) for a body of another type. No body at all is left to the route (an action without one is valid);
a form route (the dashboard's) is left alone.
"""

from __future__ import annotations

import email.message
from typing import Any

from fastapi import HTTPException, Request, params
from fastapi.dependencies.models import Dependant

UNSUPPORTED = "the body must be JSON (Content-Type: application/json), not {}"
#: The 415 in the OpenAPI document, on every operation whose request body is JSON.
UNSUPPORTED_RESPONSE: dict[str, Any] = {
    "description": "the body is not JSON (its Content-Type says another type, or nothing)",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
    }}},
}


async def json_content(request: Request) -> None:
    """An app dependency: 415 for a body that does not say it is JSON, on a route that reads a JSON body."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if not isinstance(dependant, Dependant) or not _reads_json(dependant) or not await request.body():
        return
    declared = request.headers.get("content-type")
    if not declared or not is_json(declared):
        raise HTTPException(415, UNSUPPORTED.format(repr(declared) if declared else "none said"))


def is_json(content_type: str) -> bool:
    """``application/json`` or ``application/<anything>+json``, as FastAPI reads a body as JSON."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def document_unsupported(document: dict[str, Any]) -> None:
    """Add the 415 to every operation of ``document`` whose request body is JSON."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                operation.setdefault("responses", {})["415"] = UNSUPPORTED_RESPONSE


def _reads_json(dependant: Dependant) -> bool:
    fields = list(dependant.body_params)
    pending = list(dependant.dependencies)
    while pending:
        child = pending.pop()
        fields += child.body_params
        pending += child.dependencies
    return bool(fields) and not any(isinstance(f.field_info, params.Form) for f in fields)
