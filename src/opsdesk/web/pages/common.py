"""What every dashboard page shares: rendering with the signed-in person and the CSRF token, and transactions.

Pages read in read-only units of work (on SQLite they never take the write lock) and act through the
same case service as the JSON API and the CLI, so a page holds no rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from opsdesk.desk import Desk
from opsdesk.ports import UnitOfWork
from opsdesk.web.auth import Principal, Role
from opsdesk.web.csrf import csrf_token

T = TypeVar("T")

#: How often the queue's rows are fetched again (seconds): the live updates' only server cost.
POLL_SECONDS = 5


@dataclass(frozen=True)
class Pages:
    desk: Desk
    templates: Jinja2Templates

    def render(
        self, request: Request, name: str, principal: Principal | None, nav: str = "", status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        values = {
            "principal": principal,
            "csrf": csrf_token(request) if principal is not None else None,
            "nav": nav,
            "now": self.desk.clock.now(),
            "poll_seconds": POLL_SECONDS,
            **context,
        }
        response = self.templates.TemplateResponse(request, name, values, status_code=status)
        # Customers' names and emails: no copy in the browser's cache for Back to show after Sign out.
        response.headers["Cache-Control"] = "no-store"
        return response

    async def read(self, work: Callable[[UnitOfWork], T]) -> T:
        def run() -> T:
            with self.desk.db.unit_of_work(read_only=True) as uow:
                return work(uow)

        return await run_in_threadpool(run)

    async def write(self, work: Callable[[UnitOfWork], T]) -> T:
        def run() -> T:
            with self.desk.db.unit_of_work() as uow:
                result = work(uow)
                uow.commit()
                return result

        return await run_in_threadpool(run)

    def shops(self, principal: Principal, role: Role = Role.VIEWER) -> list[str]:
        """The configured shops where ``principal`` holds ``role`` or more."""
        return sorted(principal.shops_with(role))


def see_other(path: str) -> Response:
    """The redirect after a successful form post (so a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


def local_path(value: str | None, default: str) -> str:
    """``value`` when it is a path on this site, else ``default`` (no open redirects); percent-encoded as
    a redirect's URL is, since it goes into a header (``HX-Push-Url``), which only carries Latin-1."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        if any(c < " " or c == "\x7f" for c in value):  # a browser drops tabs and newlines: "/\t/evil"
            return default
        return quote(value, safe=":/%#?=@[]!$&'()*+,;")
    return default
