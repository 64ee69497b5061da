"""The app's routes with the access each declares: what the route-table security test walks.

``tests/security/test_route_table.py`` expects, for each route, role and shop, a 2xx exactly where the
declaration allows one; ``tests/fuzz`` fuzzes every route it lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from opsdesk.web.auth import Access


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One route of the app as the route-table test walks it."""

    path: str
    methods: frozenset[str]
    access: Access | None
    path_params: frozenset[str]
    query_params: frozenset[str]
    body_params: frozenset[str]


def route_table(app: FastAPI) -> list[RouteEntry]:
    """Every route of the app (included routers flattened) with its declared access."""
    table = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        dependant = getattr(context, "dependant", None)
        access = _declared(dependant) if dependant is not None else None
        if access is None and path in getattr(app.state, "public_routes", {}):
            access = Access(None, reason=app.state.public_routes[path], kind="public")
        table.append(
            RouteEntry(
                path,
                frozenset(context.methods or ()) - {"HEAD"},
                access,
                frozenset(_names(dependant, "path_params")),
                frozenset(_names(dependant, "query_params")),
                frozenset(_names(dependant, "body_params")),
            )
        )
    return table


def _declared(dependant: Dependant) -> Access | None:
    pending = list(dependant.dependencies)
    while pending:
        child = pending.pop()
        access = getattr(child.call, "opsdesk_access", None)
        if isinstance(access, Access):
            return access
        pending.extend(child.dependencies)
    return None


def _names(dependant: Dependant | None, kind: str) -> set[str]:
    if dependant is None:
        return set()
    names = {f.alias for f in getattr(dependant, kind)}
    for child in dependant.dependencies:
        names |= _names(child, kind)
    return names
