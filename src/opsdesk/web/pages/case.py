"""The case page: timeline, order and customer, the actions and the resolutions that fit, confirmed first."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from opsdesk.domain.errors import Conflict, InvalidInput, NotFound
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import act
from opsdesk.services.dashboard_case import RESOLUTION_TEXT, case_page, resolution_for
from opsdesk.services.resolutions import approval_refused
from opsdesk.web.auth import Principal, Role, ensure_shop, require_page
from opsdesk.web.pages.common import Pages, see_other
from opsdesk.web.pages.rendering import label

#: The actions the page posts besides resolving; assigning to someone else takes a lead (as in the API).
PAGE_ACTIONS = frozenset({"claim", "assign", "start", "wait", "resume", "comment", "close", "reopen"})
#: What the page says after each action, once (a reload does not repeat it); ``{owner}``, ``{resolution}``,
#: ``{on}`` are the case's, as the page then shows it.
DONE = {
    "claim": "Claimed: the case is yours.",
    "assign": "Assigned to {owner}.",
    "start": "Started: the case is in progress.",
    "wait": "Waiting on {on}: the SLA clocks are paused until you resume.",
    "resume": "Resumed: the SLA clocks run again.",
    "comment": "Comment added to the timeline.",
    "close": "Closed.",
    "reopen": "Reopened.",
    "resolve": "Resolved: {resolution}. What it sends goes out through the outbox; the timeline shows it.",
}
#: The cookie that carries the action just done to the page the redirect shows (scoped to that case's path).
DONE_COOKIE = "opsdesk_done"
#: The longest comment or note, as the API takes it; the page's text boxes stop there too.
MAX_NOTE = 10_000


def case_router(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Depends(require_page(Role.VIEWER))
    agent = Depends(require_page(Role.AGENT))

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    async def show(request: Request, case_id: str, principal: Principal = viewer) -> Response:
        return await _show(pages, request, case_id, principal)

    @router.post("/cases/{case_id}/act/{action}", response_class=HTMLResponse)
    async def act_on(
        request: Request,
        case_id: str,
        action: str,
        note: Annotated[str, Form()] = "",  # its length is checked below, so that a long one is given back
        on: Annotated[str | None, Form()] = None,
        owner: Annotated[str | None, Form(max_length=255)] = None,
        principal: Principal = agent,
    ) -> Response:
        if action not in PAGE_ACTIONS:
            raise HTTPException(404, f"no case action {action!r} here")
        if len(note) > MAX_NOTE:
            return await _refused(pages, request, case_id, principal, _too_long(note, "comment"), draft=note)
        params = {"note": note, **({"on": on} if on else {}), **({"owner": owner} if owner else {})}
        return await _act(pages, request, case_id, action, principal, params)

    @router.post("/cases/{case_id}/resolve", response_class=HTMLResponse)
    async def resolve(
        request: Request,
        case_id: str,
        resolution: Annotated[str, Form()],
        amount: Annotated[str, Form(max_length=32)] = "",
        discount_id: Annotated[str, Form(max_length=255)] = "",
        note: Annotated[str, Form()] = "",
        confirmed: Annotated[str, Form()] = "",
        principal: Principal = agent,
    ) -> Response:
        """Resolve a case; anything with an effect outside the desk is shown for confirmation first, once its
        input is known to be good (a refund of "abc" is refused on the case page, not asked about)."""
        chosen = RESOLUTION_TEXT.get(resolution)
        try:
            if chosen is None:
                raise InvalidInput(f"unknown resolution {resolution!r}")
            if len(note) > MAX_NOTE:
                raise InvalidInput(_too_long(note, "note"))
            value = _amount(amount) if amount.strip() else None
        except InvalidInput as exc:
            return await _refused(pages, request, case_id, principal, str(exc))
        if chosen.irreversible and confirmed != "yes":
            case = await pages.read(lambda uow: uow.cases.get(case_id))
            ensure_shop(principal, case.shop, Role.AGENT)
            if resolution == "approve_refund" and (why := await pages.read(
                    lambda uow: approval_refused(uow, case, value))):
                return await _refused(pages, request, case_id, principal, why)  # not asked about: it cannot be done
            return pages.render(
                request, "confirm.html", principal, "queue", case=case, resolution=resolution_for(case, resolution),
                amount=amount, discount_id=discount_id, note=note,
            )
        params: dict[str, Any] = {"resolution": resolution, "note": note}
        if value is not None:
            params["amount"] = value
        if discount_id.strip():
            params["discount_id"] = discount_id.strip()
        return await _act(pages, request, case_id, "resolve", principal, params)

    return router


async def _show(
    pages: Pages, request: Request, case_id: str, principal: Principal, status: int = 200,
    notices: list[dict[str, Any]] | None = None, draft: str = "",
) -> Response:
    org, now = pages.desk.org, pages.desk.clock.now()
    try:
        view = await pages.read(lambda uow: case_page(uow, org, case_id, principal.actor, now))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    shop = view["case"]["shop"]
    ensure_shop(principal, shop, Role.VIEWER)
    org = pages.desk.org
    action = request.cookies.get(DONE_COOKIE, "")
    done = _done(action, view["case"])
    response = pages.render(
        request, "case.html", principal, "queue", status=status, view=view, draft=draft, posted=action == "comment",
        notices=[*([{"error": False, "text": done}] if done else []), *(notices or [])],
        can_act=shop in principal.shops_with(Role.AGENT),
        assignees=sorted(org.people) + [f"team:{t}" for t in sorted(org.teams)]
        if shop in principal.shops_with(Role.LEAD) and view["case"]["status"] not in ("resolved", "closed")
        else [],
    )
    if DONE_COOKIE in request.cookies:
        response.delete_cookie(DONE_COOKIE, path=f"/cases/{case_id}")
    return response


def _done(action: str, case: dict[str, Any]) -> str:
    """What the action just done did, said with the case as it is now ("" for no action, or a made-up one)."""
    text = DONE.get(action, "")
    on = "the customer" if case["status"] == "waiting_customer" else "a supplier"
    return text.format(owner=case["owner"] or "nobody", on=on, resolution=label(case["resolution"] or ""))


async def _act(
    pages: Pages, request: Request, case_id: str, action: str, principal: Principal, params: dict[str, Any]
) -> Response:
    def work(uow: UnitOfWork) -> str:
        case = uow.cases.get(case_id)
        ensure_shop(principal, case.shop, Role.AGENT)
        if action == "assign" and params.get("owner") != principal.actor:
            ensure_shop(principal, case.shop, Role.LEAD)  # giving a case to someone else takes a lead
        now, lead = pages.desk.clock.now(), principal.leads_in(case.shop)
        act(uow, case_id, action, principal.actor, now, pages.desk.case_hooks, lead=lead, **params)
        return case.key

    try:
        key = await pages.write(work)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (Conflict, InvalidInput) as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        return await _show(pages, request, case_id, principal, status, [{"error": True, "text": str(exc)}])
    response = see_other(f"/cases/{key}")  # the case's page is at its key (ADR 0029); its id there works too
    # Only the page the redirect shows reads it, and deletes it: a reload, or another tab later, says nothing.
    response.set_cookie(DONE_COOKIE, action, max_age=60, path=f"/cases/{key}", httponly=True, samesite="lax")
    return response


async def _refused(
    pages: Pages, request: Request, case_id: str, principal: Principal, why: str, draft: str = ""
) -> Response:
    """The case page again, saying why the form was refused (400), with the comment typed given back."""
    return await _show(pages, request, case_id, principal, 400, [{"error": True, "text": why}], draft)


def _too_long(note: str, what: str) -> str:
    return f"a {what} has at most {MAX_NOTE:,} characters; this one has {len(note):,}"


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"amount is not a number: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput("amount must be positive")
    return value
