"""The FastAPI application factory: intake, JSON API, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from opsdesk import __version__
from opsdesk.background import Background
from opsdesk.desk import Desk
from opsdesk.domain.errors import OpsdeskError, Unavailable
from opsdesk.metrics import CONTENT_TYPE, SCRAPE_REFUSED, scrape_allowed
from opsdesk.services.orders import order_view
from opsdesk.web.auth import Principal, Role, declare_public, ensure_shop, public, require_api
from opsdesk.web.cases import cases_router
from opsdesk.web.content_type import json_content
from opsdesk.web.csrf import CsrfMiddleware
from opsdesk.web.errors import DeclaredBodyLimit, document_errors, internal_error, opsdesk_error
from opsdesk.web.intake import WebhookEndpoint
from opsdesk.web.login import login_router
from opsdesk.web.pages import add_pages
from opsdesk.web.query import known_query
from opsdesk.web.readiness import readiness_router
from opsdesk.web.wire import wire_answer


def create_app(desk: Desk, *, background: bool = True) -> FastAPI:
    """The HTTP app; with ``background`` it also runs the pipeline and the outbox sender."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        committer = desk.committer()
        app.state.webhook.bind(committer)
        # Without the background work, the runner still keeps SQLite's write-ahead log checkpointed.
        runner = Background(desk, pipeline=background, outbox=background)
        runner.start()
        try:
            yield
        finally:
            committer.close()
            runner.close()

    app = FastAPI(
        title="opsdesk",
        version=__version__,
        lifespan=lifespan,
        description="The operations desk for online stores.",
        dependencies=[Depends(json_content)],  # every route: one added later too (ADR 0059)
    )
    app.state.desk = desk
    app.state.webhook = WebhookEndpoint(desk)
    app.add_route("/webhooks/shopify", app.state.webhook.handle, methods=["POST"], include_in_schema=False)
    declare_public(app, "/webhooks/shopify", "signed by Shopify (HMAC)", csrf_exempt=True)
    for path in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url):
        if path:
            declare_public(app, path, "the API's documentation")
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(DeclaredBodyLimit)  # outermost: refused before the CSRF check would read a form
    app.add_exception_handler(OpsdeskError, opsdesk_error)
    app.add_exception_handler(Exception, internal_error)
    app.include_router(login_router())
    _add_ops_routes(app, desk)
    _add_api_routes(app, desk)
    app.include_router(cases_router(desk))
    app.include_router(readiness_router(desk))
    add_pages(app, desk)
    document_errors(app)
    return app


def _add_ops_routes(app: FastAPI, desk: Desk) -> None:
    @app.get("/healthz", tags=["ops"], dependencies=[Depends(public("health checks"))])
    async def healthz() -> Response:
        try:
            await run_in_threadpool(desk.db.ping)
        except Unavailable as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=PlainTextResponse,
        dependencies=[Depends(public("Prometheus scrapes it; counts only; OPSDESK_METRICS_TOKEN: a bearer token"))],
        responses={401: {"description": "OPSDESK_METRICS_TOKEN is set and the request did not send it"}},
    )
    async def metrics(request: Request) -> Response:
        if not scrape_allowed(request.headers.get("authorization"), desk.settings.metrics_token):
            return JSONResponse(SCRAPE_REFUSED, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        # In a thread: the backlog gauge reads the database, which must not hold up the event loop.
        return Response(await run_in_threadpool(desk.metrics.render), media_type=CONTENT_TYPE)


def _add_api_routes(app: FastAPI, desk: Desk) -> None:
    viewer = Depends(require_api(Role.VIEWER))  # a default: annotations here are strings, not evaluated

    @app.get("/api/v1/orders/{order_id}", tags=["orders"], dependencies=[Depends(known_query)])
    async def get_order(order_id: int, shop: str | None = None, principal: Principal = viewer) -> dict[str, Any]:
        """An order's state, owner, decisions with their explanations, actions and cases."""
        own = principal.shops_with(Role.VIEWER)
        if shop:
            ensure_shop(principal, shop, Role.VIEWER)
        elif len(own) == 1:
            shop = next(iter(own))

        def read() -> dict[str, Any]:
            with desk.db.unit_of_work(read_only=True) as uow:
                return order_view(uow, order_id, shop)

        view = await run_in_threadpool(read)
        ensure_shop(principal, view["shop"], Role.VIEWER)
        return wire_answer(view)
