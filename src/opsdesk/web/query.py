"""A query parameter the route does not read is refused (400), not ignored (ADR 0054).

Ignored, a misspelt filter (``/api/v1/cases?stauts=closed``) answers the whole queue as if it were the
filtered one, and the script that sent it cannot tell.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant


async def known_query(request: Request) -> None:
    """A dependency for JSON routes: 400 naming the parameters the route does not read, and those it does."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    read = _query_names(dependant) if isinstance(dependant, Dependant) else set()
    unknown = sorted(set(request.query_params) - read)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        reads = f"this route reads: {', '.join(sorted(read))}" if read else "this route reads none"
        plural = "s" if len(unknown) > 1 else ""
        raise HTTPException(400, f"unknown query parameter{plural} {names} ({reads})")


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for child in dependant.dependencies:
        names |= _query_names(child)
    return names
