"""The FastAPI application factory: intake, JSON API, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from opsdesk import __version__
from opsdesk.desk import Background, Desk
from opsdesk.domain.errors import Conflict, InvalidInput, NotFound, OpsdeskError, Unavailable
from opsdesk.domain.records import ApiToken
from opsdesk.services import tokens
from opsdesk.services.orders import order_view
from opsdesk.web.cases import cases_router
from opsdesk.web.intake import WebhookEndpoint

STATUS = {NotFound: 404, Conflict: 409, InvalidInput: 400, Unavailable: 503}
bearer = HTTPBearer(auto_error=False)


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
    )
    app.state.desk = desk
    app.state.webhook = WebhookEndpoint(desk)
    app.add_route("/webhooks/shopify", app.state.webhook.handle, methods=["POST"], include_in_schema=False)
    app.add_exception_handler(OpsdeskError, _error)
    _add_ops_routes(app, desk)
    _add_api_routes(app, desk)
    app.include_router(cases_router(desk, require))
    return app


async def _error(_request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 500)
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, Conflict) and exc.holder:
        body["holder"] = exc.holder
    return JSONResponse(body, status_code=status)


def _add_ops_routes(app: FastAPI, desk: Desk) -> None:
    @app.get("/healthz", tags=["ops"])
    async def healthz() -> Response:
        try:
            await run_in_threadpool(desk.db.ping)
        except Unavailable as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(desk.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def require(role: str) -> Callable[..., Awaitable[ApiToken]]:
    """A dependency that admits a bearer token of at least ``role``."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ApiToken:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})
        desk: Desk = request.app.state.desk
        token = await run_in_threadpool(_authenticate, desk, credentials.credentials)
        if token is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        if not tokens.allows(token.role, role):
            raise HTTPException(403, f"needs role {role} or above; this token is {token.role}")
        return token

    return check


def _authenticate(desk: Desk, token: str) -> ApiToken | None:
    with desk.db.unit_of_work() as uow:
        return tokens.authenticate(uow, token)


def _add_api_routes(app: FastAPI, desk: Desk) -> None:
    viewer = Depends(require("viewer"))

    @app.get("/api/v1/orders/{order_id}", tags=["orders"], dependencies=[viewer])
    async def get_order(order_id: int, shop: str | None = None) -> dict[str, Any]:
        """An order's state, owner, decisions with their explanations, actions and cases."""

        def read() -> dict[str, Any]:
            with desk.db.unit_of_work() as uow:
                return order_view(uow, order_id, shop)

        return await run_in_threadpool(read)
