"""The queue page: my cases, my team's, all; filters; due first; live rows; claim and bulk claim."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from opsdesk.domain.errors import Conflict, InvalidInput, NotFound
from opsdesk.domain.records import CaseFilter
from opsdesk.ports import UnitOfWork
from opsdesk.services.case_views import refuse_unknown
from opsdesk.services.cases import act
from opsdesk.services.dashboard import DUE_WINDOWS, MAX_BACK, VIEWS, QueuePage, QueueQuery, queue_page
from opsdesk.web.auth import Principal, Role, require_page
from opsdesk.web.pages.common import Pages, local_path, see_other

#: At most this many cases are claimed by one bulk claim (a page of the queue).
MAX_BULK = 50
#: The cookie that carries what a bulk claim posted without scripts did to the queue page its redirect shows.
CLAIMED_COOKIE = "opsdesk_claimed"
#: What of it fits in a cookie (browsers keep 4 KB a cookie); the refusals past it are counted, not listed.
MAX_CLAIMED_BYTES = 3000
#: Said (400) for a page whose cursor is garbled, or was made for other filters: the first page is shown instead.
STALE_CURSOR = ("This page's address does not say where in this queue it starts (it was made for other filters, "
                "or changed): the queue is shown from its first page.")


def queue_router(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Depends(require_page(Role.VIEWER))
    agent = Depends(require_page(Role.AGENT))

    @router.get("/queue", response_class=HTMLResponse)
    async def queue(request: Request, principal: Principal = viewer) -> Response:
        found, refused = await _page(pages, principal, _query(request))
        notices = [*unpack(request.cookies.get(CLAIMED_COOKIE, "")), *({"error": True, "text": t} for t in refused)]
        if found.query.page > found.page:  # a number alone (an old bookmark): the pages follow from the first
            notices.append({"error": False, "text": f"Page {found.query.page} is reached by Next from the first "
                                                    f"page: this is the first, page 1 of {found.pages}."})
        response = pages.render(request, "queue.html", principal, "queue", status=400 if refused else 200,
                                notices=notices, **_context(pages, principal, found))
        if CLAIMED_COOKIE in request.cookies:  # said once: a reload, or another tab later, says nothing
            response.delete_cookie(CLAIMED_COOKIE, path="/queue")
        return response

    @router.get("/queue/rows", response_class=HTMLResponse)
    async def rows(request: Request, principal: Principal = viewer) -> Response:
        """The queue's rows alone: what htmx fetches every few seconds to show new and changed cases."""
        found, _ = await _page(pages, principal, _query(request))
        return pages.render(request, "_queue_poll.html", principal, **_context(pages, principal, found))

    @router.post("/queue/claim", response_class=HTMLResponse)
    async def bulk_claim(
        request: Request,
        case: Annotated[list[str] | None, Form()] = None,
        next: Annotated[str | None, Form()] = None,
        principal: Principal = agent,
    ) -> Response:
        """Claim every ticked case; each one someone else holds is refused, naming them."""
        ids = list(dict.fromkeys(case or []))[:MAX_BULK]
        notices = await pages.write(lambda uow: claim_all(pages, uow, ids, principal))
        back = local_path(next, "/queue")
        if not request.headers.get("hx-request"):
            # Posted by the form itself (scripts off): answer with the queue's address (POST-redirect-GET), so a
            # reload shows the queue instead of asking to post again; the page there says what was done.
            response = see_other(back)
            response.set_cookie(CLAIMED_COOKIE, pack(notices), max_age=60, path="/queue", httponly=True,
                                samesite="lax")
            return response
        query = _query_from_path(back)
        found, _ = await _page(pages, principal, query)
        response = pages.render(
            request, "queue.html", principal, "queue", notices=notices, **_context(pages, principal, found)
        )
        response.headers["HX-Push-Url"] = back
        return response

    return router


def claim_all(pages: Pages, uow: UnitOfWork, ids: list[str], principal: Principal) -> list[dict[str, Any]]:
    """Claim each case; a refused claim writes nothing, so the others still count. Says what happened."""
    now = pages.desk.clock.now()
    claimed, notices = 0, []
    agent_shops = principal.shops_with(Role.AGENT)
    for case_id in ids:
        try:
            shop = uow.cases.get(case_id).shop
            if shop not in agent_shops:
                notices.append({"error": True, "text": f"case {case_id}: you are not an agent in {shop}"})
                continue
            act(uow, case_id, "claim", principal.actor, now, pages.desk.case_hooks)
            claimed += 1
        except (Conflict, InvalidInput, NotFound) as exc:
            notices.append({"error": True, "text": str(exc)})
    if not ids:
        return [{"error": True, "text": "tick the cases to claim first"}]
    return [{"error": False, "text": f"claimed {claimed} case{'' if claimed == 1 else 's'}"}, *notices]


def pack(notices: list[dict[str, Any]]) -> str:
    """The notices as a cookie's value (base64 of their JSON): the first (what was claimed) and as many of the
    refusals after it as fit; those that do not are counted."""
    first, rest = notices[:1], notices[1:]
    for shown in range(len(rest), 0, -1):
        more = [{"error": True, "text": f"and {len(rest) - shown} more refused"}] if shown < len(rest) else []
        if len(packed := _encode([*first, *rest[:shown], *more])) <= MAX_CLAIMED_BYTES:
            return packed
    return _encode([*first, *([{"error": True, "text": f"and {len(rest)} refused"}] if rest else [])])


def _encode(notices: list[dict[str, Any]]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(notices)).decode()


def unpack(value: str) -> list[dict[str, Any]]:
    """The notices ``pack`` wrote; a value that is not one (edited by hand, cut short) says nothing."""
    try:
        found = orjson.loads(base64.urlsafe_b64decode(value.encode()))
    except ValueError:  # binascii.Error and orjson.JSONDecodeError are ValueErrors
        return []
    ok = isinstance(found, list) and all(isinstance(n, dict) and isinstance(n.get("text"), str) for n in found)
    return [{"error": bool(n.get("error")), "text": n["text"]} for n in found] if ok else []


async def _page(pages: Pages, principal: Principal, query: QueueQuery) -> tuple[QueuePage, list[str]]:
    """The page, with each filter value nothing is known by left out and refused, as the API refuses it (ADR 0046):
    a typo in the address reads otherwise as an empty queue."""
    shops = pages.shops(principal)
    if len(shops) != len(pages.desk.settings.file.shops) and query.shop not in shops:
        query = replace(query, shop=shops[0] if shops else "-")  # only shops this person may see
    org, now, playbooks = pages.desk.org, pages.desk.clock.now(), pages.desk.playbooks

    def work(uow: UnitOfWork) -> tuple[QueuePage, list[str]]:
        refused: dict[str, str] = {}
        for name, where in (
            ("status", CaseFilter(status=(query.status,)) if query.status else None),
            ("queue", CaseFilter(queue=query.queue) if query.queue else None),
            ("kind", CaseFilter(kind=query.kind) if query.kind else None),
        ):
            try:
                if where is not None:
                    refuse_unknown(uow, where, org, playbooks)
            except InvalidInput as exc:
                refused[name] = f"{exc}: the queue is shown without it"
        if query.due and query.due not in DUE_WINDOWS:
            known = ", ".join(DUE_WINDOWS)
            refused["due"] = f"unknown due {query.due!r} (known: {known}): the queue is shown without it"
        checked = replace(
            query, status=None if "status" in refused else query.status, queue=None if "queue" in refused else
            query.queue, kind=None if "kind" in refused else query.kind, due=None if "due" in refused else query.due,
        )
        try:
            return queue_page(uow, org, checked, principal.actor, now), list(refused.values())
        except InvalidInput:  # the cursor and the trail: the one part of the query the page checks itself
            if checked.cursor is None and not checked.back:
                raise
        first = replace(checked, cursor=None, back=(), page=1)
        return queue_page(uow, org, first, principal.actor, now), [*refused.values(), STALE_CURSOR]

    return await pages.read(work)


def _context(pages: Pages, principal: Principal, page: QueuePage) -> dict[str, Any]:
    q, person = page.query, pages.desk.org.knows_owner(principal.actor)
    base = {"view": q.view, "team": q.team, "queue": q.queue, "kind": q.kind, "status": q.status,
            "owner": q.owner, "due": q.due, "shop": q.shop}
    return {
        "page": page,
        "base": base,
        **addresses(page),
        "shops": pages.shops(principal),
        "default_team": pages.desk.org.default_team,
        "is_person": person,
        "can_claim": bool(principal.shops_with(Role.AGENT)) and person,
    }


def addresses(page: QueuePage) -> dict[str, dict[str, Any] | None]:
    """Where this page, the one after it and the one before it start, as their addresses' parameters. Each address
    carries the trail of the pages' starts before it (``back``, cursors joined by "."), so Previous is the page
    the person came from, started after the same case: none of the cases after it is skipped, whatever ended or
    opened since (ADR 0059, session 15). A trail cut at ``MAX_BACK`` pages leaves First page alone."""
    q = page.query
    trail = (*q.back, q.cursor)[-MAX_BACK:] if q.cursor else ()
    previous: dict[str, Any] | None = None
    if q.back:
        previous = {"page": page.page - 1, "cursor": q.back[-1], "back": ".".join(q.back[:-1]) or None}
    elif q.cursor and page.page == 2:
        previous = {"page": 1}
    return {
        "here": {"page": page.page, "cursor": q.cursor, "back": ".".join(q.back) or None},
        "following": {"page": page.page + 1, "cursor": page.next, "back": ".".join(trail) or None},
        "previous": previous,
    }


def _query(request: Request) -> QueueQuery:
    return _query_from(dict(request.query_params))


def _query_from_path(path: str) -> QueueQuery:
    return _query_from(dict(parse_qsl(urlsplit(path).query)))


def _query_from(params: dict[str, str]) -> QueueQuery:
    view = params.get("view", "all")
    try:
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        page = 1
    return QueueQuery(
        view=view if view in VIEWS else "all",
        team=params.get("team") or None,
        queue=params.get("queue") or None,
        kind=params.get("kind") or None,
        status=params.get("status") or None,
        owner=params.get("owner") or None,
        due=params.get("due") or None,
        shop=params.get("shop") or None,
        page=page,
        cursor=params.get("cursor") or None,
        back=tuple(params["back"].split(".")) if params.get("back") else (),
    )

