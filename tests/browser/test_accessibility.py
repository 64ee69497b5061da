"""axe-core on every page a person reaches (ADR 0064): the suite fails on a WCAG 2.1 A/AA violation of impact
serious or critical. The pages are found by walking the app's page routes, so a new page fails this test until
it is given an address here (and so is checked)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from opsdesk.web.app import create_app
from opsdesk.web.route_table import route_table
from tests.browser.accessibility import failing, violations
from tests.browser.conftest import Running
from tests.browser.test_dashboard import ORDER, case_of, key_of, page_as, return_requested  # noqa: F401  (a fixture)
from tests.samples import SHOP

pytestmark = pytest.mark.browser
FRAGMENTS = {"/queue/rows"}  # swapped into /queue by htmx, and checked there


def addresses(key: str, order: int) -> dict[str, list[str]]:
    """Each page route, with the addresses that show its states (filters, a case, an order, a search)."""
    return {
        "/": ["/"],
        "/queue": ["/queue?view=all", "/queue?view=mine", "/queue?view=team", "/queue?view=all&status=open"],
        "/cases/{case_id}": [f"/cases/{key}", "/cases/no-such-case"],
        "/orders": ["/orders", f"/orders?q={order}", "/orders?q=nothing-like-it"],
        "/orders/{shop}/{order_id}": [f"/orders/{SHOP}/{order}"],
        "/readiness": ["/readiness"],
        "/charts": ["/charts"],
        "/playbooks": ["/playbooks"],
        "/settings": ["/settings"],
    }


def page_routes(running: Running) -> set[str]:
    app = create_app(running.desk, background=False)  # only its routes: never served
    return {r.path for r in route_table(app)
            if "GET" in r.methods and r.access is not None and r.access.kind == "page"} - FRAGMENTS


def assert_accessible(page: Any, where: str) -> None:
    assert failing(violations(page)) == [], where


def test_the_sign_in_page_has_no_serious_violation(browser: Any, running: Running) -> None:
    context = browser.new_context(base_url=running.url)
    try:
        page = context.new_page()
        page.goto("/login")
        assert_accessible(page, "/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        page.wait_for_selector("[role=alert]")
        assert_accessible(page, "/login, refused")
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 375])  # a laptop, and a phone (the tables that scroll in their box)
def test_every_page_has_no_serious_violation(page_as, running, width) -> None:  # noqa: F811
    running.deliver(return_requested(running, width))
    key = key_of(running, case_of(running, ORDER + width))
    pages = addresses(key, ORDER + width)
    assert page_routes(running) == set(pages), "a page route without an address here is not checked"
    page = page_as("carol")  # a lead: every page, and every control of the case page
    page.set_viewport_size({"width": width, "height": 800})
    for path in [p for paths in pages.values() for p in paths]:
        page.goto(path)
        assert_accessible(page, f"{path} at {width} px")


def test_the_case_page_as_it_is_worked_has_no_serious_violation(page_as, running) -> None:  # noqa: F811
    """A claimed case (its resolutions, with their fields), a notice, the confirmation, an error notice."""
    running.deliver(return_requested(running, 2))
    key = key_of(running, case_of(running, ORDER + 2))
    page = page_as("alice")
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


def test_the_queue_after_a_poll_has_no_serious_violation(page_as, running) -> None:  # noqa: F811
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
