"""The read-only pages: readiness with each control's evidence, metrics charts, playbooks, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from opsdesk.config import Settings
from opsdesk.desk import Desk
from opsdesk.policy import loader
from opsdesk.ports import UnitOfWork
from opsdesk.readiness.registry import check as readiness_check
from opsdesk.services.dashboard_metrics import metrics_series
from opsdesk.web.auth import Principal, Role, require_page
from opsdesk.web.pages.charts import line_chart
from opsdesk.web.pages.common import Pages

CHART_DAYS = 14


def insights_router(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Depends(require_page(Role.VIEWER))
    # Readiness, metrics and settings span every shop (their offenders, totals and shop list), so they
    # need the role in every shop; the playbooks apply to every shop alike and hold no shop's data.
    every_shop = Depends(require_page(Role.VIEWER, every_shop=True))
    desk = pages.desk

    @router.get("/readiness", response_class=HTMLResponse)
    async def readiness(request: Request, principal: Principal = every_shop) -> Response:
        now = desk.clock.now()
        report, keys = await pages.read(lambda uow: _readiness(desk, uow, now))
        return pages.render(request, "readiness.html", principal, "readiness", report=report, keys=keys)

    @router.get("/charts", response_class=HTMLResponse)
    async def charts(request: Request, principal: Principal = every_shop) -> Response:
        now = desk.clock.now()
        series = await pages.read(lambda uow: metrics_series(uow, now, CHART_DAYS))
        drawn = [
            line_chart(s.name, s.unit, [d.strftime("%m-%d") for d in s.days], s.values) for s in series
        ]
        return pages.render(request, "charts.html", principal, "charts", charts=drawn, days=CHART_DAYS)

    @router.get("/playbooks", response_class=HTMLResponse)
    async def playbooks(request: Request, principal: Principal = viewer) -> Response:
        problems = await run_in_threadpool(_check_playbooks, desk.settings)
        return pages.render(
            request, "playbooks.html", principal, "playbooks", playbooks=desk.playbooks, problems=problems,
            folder=str(desk.settings.playbooks_dir),
        )

    @router.get("/settings", response_class=HTMLResponse)
    async def settings(request: Request, principal: Principal = every_shop) -> Response:
        return pages.render(request, "settings.html", principal, "settings", **settings_view(desk.settings))

    return router


def _readiness(desk: Desk, uow: UnitOfWork, now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The readiness report, and the keys (``C-1042``) of the cases it names: a case's page is at its key."""
    report = readiness_check(desk.settings, uow, now, desk.playbooks, desk.org).as_dict()
    cases = {o["id"] for c in report["controls"] for o in c["offending"] if o["kind"] == "case"}
    return report, uow.cases.keys(cases) if cases else {}


def _check_playbooks(settings: Settings) -> list[str] | None:
    """``opsdesk policy check`` on the playbook folder now: its problems, or ``None`` when there is no folder."""
    folder = settings.playbooks_dir
    if not folder.exists():
        return None
    _, diagnostics = loader.check([folder])
    return [str(d) for d in diagnostics]


def settings_view(settings: Settings) -> dict[str, Any]:
    """What the settings page shows; secrets are never in the settings (only the names of their variables)."""
    file = settings.file
    return {
        "shops": [s.model_dump() for s in file.shops],
        "people": {k: v.model_dump() for k, v in sorted(file.people.items())},
        "teams": {k: v.model_dump() for k, v in sorted(file.teams.items())},
        "queues": {k: v.model_dump() for k, v in sorted(file.queues.items())},
        "calendars": {k: v.model_dump() for k, v in sorted(file.calendars.items())},
        "sla_policies": {k: v.model_dump() for k, v in sorted(file.sla_policies.items())},
        "warehouses": {k: v.model_dump() for k, v in sorted(settings.warehouses.items())},
    }
