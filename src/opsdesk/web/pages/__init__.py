"""The dashboard: server-rendered pages (Jinja2), enhanced with htmx, on the same services as the API.

Every static asset is in ``web/static`` (htmx vendored from its npm package; our stylesheet and
countdown script), so the pages need no CDN, no network at run time and no build step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsdesk.desk import Desk
from opsdesk.services.dashboard import desk_zone
from opsdesk.web.auth import Principal, Role, declare_public, require_page
from opsdesk.web.errors import http_error, invalid_request
from opsdesk.web.pages.case import case_router
from opsdesk.web.pages.common import Pages
from opsdesk.web.pages.insights import insights_router
from opsdesk.web.pages.orders import orders_router
from opsdesk.web.pages.queue import queue_router
from opsdesk.web.pages.rendering import STATIC, make_templates

__all__ = ["add_pages"]


def add_pages(app: FastAPI, desk: Desk) -> None:
    """Mount the static files and add every dashboard page to ``app``."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    declare_public(app, "/static", "the stylesheet and scripts (vendored, no data)")
    pages = Pages(desk, make_templates(desk_zone(desk.org)))
    app.add_exception_handler(StarletteHTTPException, _html_errors(pages))
    app.add_exception_handler(RequestValidationError, _html_invalid(pages))
    for router in (home_router(desk), queue_router(pages), case_router(pages), orders_router(pages),
                   insights_router(pages)):
        app.include_router(router)


def _html_errors(pages: Pages) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A readable page for a browser's 403 and 404 outside the API; everything else as JSON (``web.errors``)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (403, 404) and _wants_page(request):
            code = exc.status_code
            return pages.render(request, "error.html", None, status=code, code=code, message=str(exc.detail))
        return await http_error(request, exc)

    return handle


def _wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")


def _html_invalid(pages: Pages) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A readable page for a page's malformed address or form (``/orders/shop/abc``); the API keeps its 422 JSON.
    """

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _wants_page(request):
            return await invalid_request(request, exc)
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return pages.render(request, "error.html", None, status=422, code=422, message=problems)

    return handle


def home_router(desk: Desk) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def home(principal: Annotated[Principal, Depends(require_page(Role.VIEWER))]) -> Response:
        """A person's own cases; an account that is no person of the desk (no case is ever its) sees them all."""
        view = "mine" if desk.org.knows_owner(principal.actor) else "all"
        return RedirectResponse(f"/queue?view={view}", status_code=303)

    return router
