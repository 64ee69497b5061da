"""The case API: the queue, one case with its story, the actions people take, and the desk's metrics.

The acting person is the bearer token's name. Viewers read; agents work cases; assigning a case to
someone else takes a lead. A claim that loses a race answers 409 with the ``holder``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.domain.errors import Unavailable
from opsdesk.domain.records import ApiToken, CaseFilter
from opsdesk.services import tokens
from opsdesk.services.case_views import case_list, case_summary, case_view
from opsdesk.services.cases import act
from opsdesk.services.desk_metrics import desk_metrics
from opsdesk.services.effects import QUEUE_KINDS

Require = Callable[[str], Callable[..., Awaitable[ApiToken]]]


class CaseAction(enum.StrEnum):
    CLAIM = "claim"
    ASSIGN = "assign"
    START = "start"
    WAIT = "wait"
    RESUME = "resume"
    COMMENT = "comment"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


class ActionBody(BaseModel):
    """What an action needs: ``owner`` to assign, ``on`` to wait, ``resolution`` (and ``amount``) to resolve."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(default=None, max_length=255)
    on: Literal["customer", "supplier"] | None = None
    note: str = Field(default="", max_length=10_000)
    resolution: (
        Literal["approve_refund", "deny", "reship", "release_hold", "pause_discount", "no_action"] | None
    ) = None
    amount: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=4)
    discount_id: str | None = Field(default=None, max_length=255)


def cases_router(desk: Desk, require: Require) -> APIRouter:
    """The ``/api/v1/cases`` routes and ``/api/v1/metrics/desk``; also adds the backlog gauge to ``/metrics``."""
    router = APIRouter(prefix="/api/v1", tags=["cases"])
    _add_read_routes(router, desk, require)
    _add_action_route(router, desk, require)
    _add_metrics_route(router, desk, require)
    _register_backlog_gauge(desk)
    return router


def _add_read_routes(router: APIRouter, desk: Desk, require: Require) -> None:
    viewer = Depends(require("viewer"))  # a default, not an annotation: annotations here are strings

    @router.get("/cases")
    async def list_cases(
        token: ApiToken = viewer,
        queue: str | None = None,
        owner: Annotated[str | None, Query(description="a person, team:<name>, or me")] = None,
        status: Annotated[list[str] | None, Query()] = None,
        kind: str | None = None,
        shop: str | None = None,
        due_before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Active cases (or those of the given statuses), what is due first first."""
        who = token.name if owner == "me" else owner
        where = CaseFilter(queue, who, tuple(status or ()), kind, shop, due_before)
        return await run_in_threadpool(_read, desk, lambda uow: case_list(uow, where, limit, offset))

    @router.get("/cases/{case_id}", dependencies=[Depends(require("viewer"))])
    async def get_case(case_id: str) -> dict[str, Any]:
        """A case with its SLA, its timeline and the explanation of every decision on its order."""
        return await run_in_threadpool(_read, desk, lambda uow: case_view(uow, case_id))


def _add_action_route(router: APIRouter, desk: Desk, require: Require) -> None:
    agent = Depends(require("agent"))

    @router.post("/cases/{case_id}/{action}", responses={409: {"description": "someone else holds the case"}})
    async def act_on_case(
        case_id: str,
        action: CaseAction,
        body: ActionBody | None = None,
        token: ApiToken = agent,
    ) -> dict[str, Any]:
        """Claim, assign, start, wait, resume, comment, resolve, close or reopen a case as the token's person."""
        params = (body or ActionBody()).model_dump(exclude_none=True)
        if (
            action.value == "assign"
            and params.get("owner") != token.name
            and not tokens.allows(token.role, "lead")
        ):
            raise HTTPException(403, "assigning a case to someone else needs role lead or above")
        return await run_in_threadpool(_act, desk, case_id, action.value, token.name, params)


def _add_metrics_route(router: APIRouter, desk: Desk, require: Require) -> None:
    @router.get("/metrics/desk", tags=["metrics"], dependencies=[Depends(require("viewer"))])
    async def get_desk_metrics() -> dict[str, Any]:
        """Backlog by queue and age, SLA compliance, time to first response and to resolution, automation rate."""
        outcomes = {
            o: _counter(desk, "opsdesk_decisions_total", {"outcome": o}) for o in ("automate", "escalate")
        }
        return await run_in_threadpool(_read, desk, lambda uow: desk_metrics(uow, desk.clock.now(), outcomes))


def _read(desk: Desk, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return work(uow)


def _act(desk: Desk, case_id: str, action: str, actor: str, params: dict[str, Any]) -> dict[str, Any]:
    with desk.db.unit_of_work() as uow:
        case = act(uow, case_id, action, actor, desk.clock.now(), desk.case_hooks, **params)
        uow.commit()
    return case_summary(case)


def _counter(desk: Desk, name: str, labels: dict[str, str]) -> float:
    return desk.metrics.registry.get_sample_value(name, labels) or 0.0


class BacklogGauge(Collector):
    """Active cases per queue, counted when ``/metrics`` is scraped."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("opsdesk_case_backlog", "Active cases by queue", labels=["queue"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("opsdesk_case_backlog", "Active cases by queue", labels=["queue"])
        queues = sorted({*self._desk.org.queues, *QUEUE_KINDS})
        try:
            with self._desk.db.unit_of_work(read_only=True) as uow:
                counts = {q: uow.cases.count(CaseFilter(queue=q)) for q in queues}
        except Unavailable:
            return  # the other metrics still render while the database is away
        for queue, count in counts.items():
            gauge.add_metric([queue], count)
        yield gauge


def _register_backlog_gauge(desk: Desk) -> None:
    with contextlib.suppress(ValueError):  # a second app on the same desk: the gauge is there already
        desk.metrics.registry.register(BacklogGauge(desk))
