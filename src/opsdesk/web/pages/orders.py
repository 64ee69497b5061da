"""The orders pages: look an order up by number, id or customer email; one order's status and history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from opsdesk.domain.errors import NotFound
from opsdesk.domain.orders import OrderState
from opsdesk.services.orders import order_view
from opsdesk.web.auth import Principal, Role, ensure_shop, require_page
from opsdesk.web.pages.common import Pages

MAX_FOUND = 50


def orders_router(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Depends(require_page(Role.VIEWER))

    @router.get("/orders", response_class=HTMLResponse)
    async def lookup(request: Request, q: str = "", principal: Principal = viewer) -> Response:
        term = q.strip()[:320]
        shops = principal.shops_with(Role.VIEWER)
        found = await pages.read(lambda uow: uow.orders.search(term, MAX_FOUND)) if term else []
        rows = [_row(s) for s in found if s.shop in shops]
        return pages.render(
            request, "orders.html", principal, "orders", q=term, orders=rows, shops=pages.shops(principal)
        )

    @router.get("/orders/{shop}/{order_id}", response_class=HTMLResponse)
    async def show(request: Request, shop: str, order_id: int, principal: Principal = viewer) -> Response:
        ensure_shop(principal, shop, Role.VIEWER)
        try:
            order = await pages.read(lambda uow: order_view(uow, order_id, shop))
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return pages.render(request, "order.html", principal, "orders", order=order)

    return router


def _row(state: OrderState) -> dict[str, Any]:
    snap = state.snapshot
    return {
        "shop": state.shop,
        "id": state.order_id,
        "name": snap.name if snap else "",
        "email": snap.email if snap else "",
        "total": str(snap.total.amount) if snap else "",
        "currency": snap.currency if snap else "",
        "payment": state.payment_status,
        "fulfilment": state.fulfilment_status,
        "owner": state.owner,
        "ship_by": state.ship_by,
        "last_event": state.last_event,
        "last_event_at": state.last_event_at,
    }
