"""The case API: the queue, one case with its story, the actions people take, and the desk's metrics.

The acting person is the signed-in person (or the bearer token's name); only a person of the organisation takes a
case (claims it, starts it while no person holds it, assigns it to themselves: 400 otherwise, ADR 0047). Roles
are held per shop: viewers read; agents work cases; assigning a case to someone else takes a lead, each in the
case's shop. A case in a shop where the caller holds no role answers 404. A claim that loses a race answers 409 with
the ``holder``, and so does the work on a case someone else holds (start, wait, resume, resolve, close; assign,
but by a lead: ADR 0039).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.domain.queue_cursor import MAX_OFFSET
from opsdesk.domain.records import CaseFilter
from opsdesk.services.case_views import case_list, case_summary, case_view, refuse_unknown
from opsdesk.services.cases import act
from opsdesk.services.desk_metrics import desk_metrics
from opsdesk.web.auth import Principal, Role, ensure_shop, require_api
from opsdesk.web.errors import MAX_API_BODY
from opsdesk.web.query import known_query
from opsdesk.web.wire import wire_answer

#: A case in a path: its key (``C-1042``, ADR 0029) or its id.
CaseRef = Annotated[str, Path(description="the case's key (C-1042) or its id")]


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


def cases_router(desk: Desk) -> APIRouter:
    """The ``/api/v1/cases`` routes and ``/api/v1/metrics/desk``."""
    router = APIRouter(
        prefix="/api/v1", tags=["cases"], dependencies=[Depends(known_query)], max_body_size=MAX_API_BODY
    )
    _add_read_routes(router, desk)
    _add_action_route(router, desk)
    _add_metrics_route(router, desk)
    return router


def _add_read_routes(router: APIRouter, desk: Desk) -> None:
    viewer = Depends(require_api(Role.VIEWER))  # a default, not an annotation: annotations here are strings

    @router.get("/cases")
    async def list_cases(
        principal: Principal = viewer,
        queue: str | None = None,
        owner: Annotated[str | None, Query(description="a person, team:<name>, or me")] = None,
        status: Annotated[list[str] | None, Query()] = None,
        kind: str | None = None,
        shop: str | None = None,
        due_before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip: prefer cursor")] = 0,
        cursor: Annotated[str | None, Query(description="the `next` of the page before")] = None,
    ) -> dict[str, Any]:
        """Active cases (or those of the given statuses), what is due first first, ended ones the latest first;
        only the caller's shops. ``next`` is the cursor of the page after this one (null on the last): send it
        back as ``cursor`` with the same filters; unlike ``offset``, it neither skips nor repeats a case when
        others open or end between two pages (ADR 0059)."""
        who = principal.actor if owner == "me" else owner
        if due_before is not None and due_before.tzinfo is None:  # UTC, as the CLI's --due-before
            due_before = due_before.replace(tzinfo=UTC)
        where = CaseFilter(queue, who, tuple(status or ()), kind, _shop_filter(desk, principal, shop), due_before)
        return await run_in_threadpool(_read, desk, lambda uow: _listed(uow, desk, where, limit, offset, cursor))

    @router.get("/cases/{case_id}")
    async def get_case(case_id: CaseRef, principal: Principal = viewer) -> dict[str, Any]:
        """A case with its SLA, its timeline and the explanation of every decision on its order."""
        await run_in_threadpool(_ensure_case_shop, desk, principal, case_id, Role.VIEWER)
        return await run_in_threadpool(_read, desk, lambda uow: case_view(uow, case_id))


def _listed(
    uow: Any, desk: Desk, where: CaseFilter, limit: int, offset: int, cursor: str | None
) -> dict[str, Any]:
    """The page, after refusing a status, queue or kind nothing is known by (400, naming the known ones)."""
    refuse_unknown(uow, where, desk.org, desk.playbooks)
    return case_list(uow, where, limit, offset, cursor)


def _shop_filter(desk: Desk, principal: Principal, shop: str | None) -> str | None:
    """The shop a list may show: the one asked for (if the caller may see it), else the caller's only one."""
    if shop:
        ensure_shop(principal, shop, Role.VIEWER)
        return shop
    own = principal.shops_with(Role.VIEWER)
    if own >= {s.domain for s in desk.settings.file.shops}:
        return None
    if len(own) == 1:
        return next(iter(own))
    raise HTTPException(400, "you see some shops only: choose one with ?shop=")


def _ensure_case_shop(desk: Desk, principal: Principal, case_id: str, role: Role) -> None:
    with desk.db.unit_of_work(read_only=True) as uow:
        shop = uow.cases.get(case_id).shop
    ensure_shop(principal, shop, role)


def _add_action_route(router: APIRouter, desk: Desk) -> None:
    agent = Depends(require_api(Role.AGENT))

    @router.post("/cases/{case_id}/{action}", responses={409: {"description": "someone else holds the case"}})
    async def act_on_case(
        case_id: CaseRef,
        action: CaseAction,
        body: ActionBody | None = None,
        principal: Principal = agent,
    ) -> dict[str, Any]:
        """Claim, assign, start, wait, resume, comment, resolve, close or reopen a case as the caller."""
        params = (body or ActionBody()).model_dump(exclude_none=True)
        # Assigning to someone else takes a lead; with no owner at all, the service says what is missing (400).
        others = action.value == "assign" and params.get("owner") not in (None, principal.actor)
        needed = Role.LEAD if others else Role.AGENT
        await run_in_threadpool(_ensure_case_shop, desk, principal, case_id, needed)
        return await run_in_threadpool(_act, desk, case_id, action.value, principal, params)


def _add_metrics_route(router: APIRouter, desk: Desk) -> None:
    every_shop_viewer = Depends(require_api(Role.VIEWER, every_shop=True))

    @router.get("/metrics/desk", tags=["metrics"], dependencies=[every_shop_viewer])
    async def get_desk_metrics() -> dict[str, Any]:
        """Backlog by queue and age, SLA compliance, time to first response and to resolution, automation rate."""
        return await run_in_threadpool(_read, desk, lambda uow: desk_metrics(uow, desk.clock.now()))


def _read(desk: Desk, work: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return wire_answer(work(uow))


def _act(desk: Desk, case_id: str, action: str, principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    with desk.db.unit_of_work() as uow:
        lead = principal.leads_in(uow.cases.get(case_id).shop)
        case = act(uow, case_id, action, principal.actor, desk.clock.now(), desk.case_hooks, lead=lead, **params)
        uow.commit()
    return wire_answer(case_summary(case))
