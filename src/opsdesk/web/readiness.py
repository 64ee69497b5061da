"""``GET /api/v1/readiness``: the readiness controls measured now, over the recorded evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.readiness import registry
from opsdesk.web.auth import Role, require_api
from opsdesk.web.query import known_query
from opsdesk.web.wire import wire_answer


def readiness_router(desk: Desk) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["readiness"], dependencies=[Depends(known_query)])

    # Every shop's records may be listed as offending: a viewer of every shop, like the desk's metrics.
    @router.get("/readiness", dependencies=[Depends(require_api(Role.VIEWER, every_shop=True))])
    async def get_readiness() -> dict[str, Any]:
        """Every readiness control with its status, reason, numbers, offending records and fix.

        Pages are not probed here (``opsdesk probe`` or ``opsdesk check`` record probes); ``passed`` is
        false when any control fails.
        """
        return await run_in_threadpool(_measure, desk)

    return router


def _measure(desk: Desk) -> dict[str, Any]:
    with desk.db.unit_of_work(read_only=True) as uow:
        report = registry.check(desk.settings, uow, desk.clock.now(), desk.playbooks, desk.org)
    return wire_answer(report.as_dict())
