"""axe-core and the WCAG 2.2 checks axe cannot make on every page a person reaches, as each role (ADR 0064): the
suite fails on a WCAG 2.2 A/AA or best-practice violation of impact moderate or more, a control the focus is hidden
under something at, or a target under 24 by 24 px without room around it. The pages are found by walking the app's
page routes, so a new page fails this test until it is given an address here (and so is checked)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from opsdesk.services import dashboard, users
from opsdesk.web.app import create_app
from opsdesk.web.route_table import route_table
from tests.browser.accessibility import failing, violations
from tests.browser.conftest import Running
from tests.browser.test_dashboard import ORDER, case_of, key_of, page_as, return_requested  # noqa: F401  (a fixture)
from tests.browser.wcag22 import obscured_focus, sign_in_barriers, small_targets
from tests.integration.dashboard_harness import PASSWORD
from tests.samples import SHOP

pytestmark = pytest.mark.browser
FRAGMENTS = {"/queue/rows"}  # swapped into /queue by htmx, and checked there
#: A person of each role the desk has: what a page offers changes with it (a viewer claims nothing, an agent
#: works a case, a lead reassigns it; an admin sees what a lead does).
ROLES = {"viewer": "vera", "agent": "alice", "lead": "carol", "admin": "ada"}


def addresses(key: str, order: int) -> dict[str, list[str]]:
    """Each page route, with the addresses that show its states (filters, a case, an order, a search)."""
    return {
        "/": ["/"],
        "/queue": ["/queue?view=all", "/queue?view=mine", "/queue?view=team", "/queue?view=all&status=open",
                   "/queue?view=all&queue=refunds&kind=refund&status=open&due=24h", "/queue?view=all&status=nonsense"],
        "/cases/{case_id}": [f"/cases/{key}", "/cases/no-such-case"],
        "/orders": ["/orders", f"/orders?q={order}", "/orders?q=nothing-like-it"],
        "/orders/{shop}/{order_id}": [f"/orders/{SHOP}/{order}", f"/orders/{SHOP}/not-a-number"],
        "/readiness": ["/readiness"],
        "/charts": ["/charts"],
        "/playbooks": ["/playbooks"],
        "/settings": ["/settings"],
    }


def page_routes(running: Running) -> set[str]:
    app = create_app(running.desk, background=False)  # only its routes: never served
    return {r.path for r in route_table(app)
            if "GET" in r.methods and r.access is not None and r.access.kind == "page"} - FRAGMENTS


def with_admin(running: Running) -> None:
    """The admin of ``ROLES``, added to the running desk once (the harness's people have no admin)."""
    with running.desk.db.unit_of_work() as uow:
        if uow.users.find(ROLES["admin"]) is None:
            users.add_user(uow, ROLES["admin"], PASSWORD, "Ada Admin", {"*": "admin"}, now=running.desk.clock.now())
            uow.commit()


def assert_accessible(page: Any, where: str) -> None:
    """axe's findings, then 2.5.8 and 2.4.11 measured, with every disclosure open (a decision's inputs)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert failing(violations(page)) == [], where
    assert small_targets(page) == [], where
    assert obscured_focus(page) == [], where


def test_the_sign_in_page_passes_and_keeps_what_was_typed(browser: Any, running: Running) -> None:
    """A password manager fills it and a paste is taken (3.3.8); a refusal keeps the username typed (3.3.7)."""
    context = browser.new_context(base_url=running.url)
    try:
        page = context.new_page()
        page.goto("/login")
        assert_accessible(page, "/login")
        assert sign_in_barriers(page) == []
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        page.wait_for_selector("[role=alert]")
        assert_accessible(page, "/login, refused")
        assert sign_in_barriers(page) == []
        assert page.input_value("input[name=username]") == "alice"
    finally:
        context.close()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("width", [1280, 375])  # a laptop, and a phone (the tables that scroll in their box)
def test_every_page_passes_as_each_role(page_as, running, monkeypatch, role, width) -> None:  # noqa: F811
    n = width + list(ROLES).index(role)
    running.deliver(return_requested(running, n) + return_requested(running, n + 1000))
    key = key_of(running, case_of(running, ORDER + n))
    case_of(running, ORDER + n + 1000)
    pages = addresses(key, ORDER + n)
    assert page_routes(running) == set(pages), "a page route without an address here is not checked"
    with_admin(running)
    page = page_as(ROLES[role])
    page.set_viewport_size({"width": width, "height": 800})
    for path in [p for paths in pages.values() for p in paths]:
        page.goto(path)
        assert_accessible(page, f"{path} at {width} px as {role}")
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)  # a page a case: the queue has a second page, and a third
    page.goto("/queue?view=all")
    page.click("nav.pager a[rel=next]")
    page.wait_for_url(re.compile(r"cursor="))
    assert_accessible(page, f"queue, page 2, at {width} px as {role}")


def test_the_case_page_as_it_is_worked_passes(page_as, running) -> None:  # noqa: F811
    """A form from an earlier session (the CSRF middleware's page), a claimed case (its resolutions, with their
    fields), a notice, the confirmation, an error notice."""
    running.deliver(return_requested(running, 2))
    key = key_of(running, case_of(running, ORDER + 2))
    page = page_as("alice")
    page.goto(f"/cases/{key}")
    page.locator("form[action$='/act/claim'] input[name=csrf_token]").evaluate("input => { input.value = 'old'; }")
    page.click("button:has-text('Claim')")
    page.wait_for_selector("h1:has-text('Nothing was changed')")
    assert_accessible(page, "a form from an earlier session")
    page.goto(f"/cases/{key}")
    page.click("button:has-text('Claim')")
    page.wait_for_selector("#case-owner strong:has-text('you')")
    assert_accessible(page, "case, claimed, with its notice")
    page.click("button[data-resolution=approve_refund]")
    page.wait_for_selector("text=Confirm: Approve refund")
    assert_accessible(page, "confirmation")
    page.goto(f"/cases/{key}")
    page.fill("input[name=amount]", "not an amount")
    page.click("button[data-resolution=approve_refund]")
    page.wait_for_load_state()
    assert_accessible(page, "case, refused amount")


def test_the_queue_after_a_poll_passes(page_as, running) -> None:  # noqa: F811
    page = page_as("bob")
    page.goto("/queue?view=team")
    running.deliver(return_requested(running, 3))
    case_of(running, ORDER + 3)
    page.evaluate("() => htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
                  " {target: '#queue-rows', swap: 'outerHTML'})")
    page.wait_for_selector("#queue-rows tr[data-id]")
    assert_accessible(page, "queue, polled")
    page.click("nav a:has-text('Readiness')")  # boosted by htmx: the page swapped in, not loaded
    page.wait_for_url(re.compile(r"/readiness$"))
    assert_accessible(page, "readiness, boosted")


def test_a_charts_values_are_text_as_well_as_a_picture(page_as, running) -> None:  # noqa: F811
    """The picture is one image to a screen reader (its title and latest value); the value of each day, a dot's
    tooltip to the mouse, is a list under it, which a keyboard opens."""
    running.deliver(return_requested(running, 4))
    case_of(running, ORDER + 4)
    page = page_as("carol")
    page.goto("/charts")
    charts = page.locator("figure.chart").all()
    assert charts
    for chart in charts:
        tips = chart.locator("svg circle title").all_text_contents()
        chart.locator("summary:has-text('Values by day')").click()
        assert chart.locator("details li").all_text_contents() == (tips or ["No data."])
