"""The queue's poll keeps the pager with the count (ADR 0052, #26): before, a case arriving on a new page
changed "N cases" every few seconds and left "page 1 of M" as it was. The pager's Next follows the API's cursor
(ADR 0052 amended in session 14), by keyboard, as does Previous (session 15), and an address whose cursor no longer fits
says so on the first page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from opsdesk.services import dashboard
from tests.browser.accessibility import failing, violations
from tests.browser.test_dashboard import ORDER, case_of, page_as, return_requested  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


def test_the_poll_updates_page_n_of_m_with_the_count(page_as, running, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)  # a page a case: the next case makes a page more
    running.deliver(return_requested(running, 40))
    case_of(running, ORDER + 40)
    page = page_as("vera")
    shown = re.search(r"page 1 of (\d+)", page.locator("nav.pager").inner_text())
    assert shown is not None
    pages = int(shown.group(1))
    running.deliver(return_requested(running, 41))
    case_of(running, ORDER + 41)
    page.evaluate("() => htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
                  " {target: '#queue-rows', swap: 'outerHTML'})")
    expect(page.locator("#queue-total")).to_have_text(f"{pages + 1} cases")  # as before the change
    expect(page.locator("nav.pager")).to_contain_text(f"page 1 of {pages + 1}")
    expect(page.locator("nav.pager a[rel=next]")).to_have_count(1)


def test_next_by_keyboard_keeps_its_place_through_a_poll_and_a_stale_address_says_so(page_as, running,  # noqa: F811
                                                                                     monkeypatch) -> None:
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 1)
    for n in (42, 43):
        running.deliver(return_requested(running, n))
        case_of(running, ORDER + n)
    page = page_as("vera")
    page.goto("/queue?view=all")
    first = page.locator("#queue-rows tr[data-id]").get_attribute("data-id")
    page.focus("nav.pager a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"cursor="))
    expect(page.locator("nav.pager")).to_contain_text("page 2 of")
    second = page.locator("#queue-rows tr[data-id]").get_attribute("data-id")
    assert second != first
    expect(page.locator("nav.pager a[rel=first]")).to_have_text("⇤ First page")
    assert failing(violations(page)) == [], "queue, page 2"
    page.evaluate("() => htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
                  " {target: '#queue-rows', swap: 'outerHTML'})")
    expect(page.locator("nav.pager")).to_contain_text("page 2 of")  # the poll reads the same page, not the first
    expect(page.locator("#queue-rows tr[data-id]")).to_have_attribute("data-id", second)

    later = page.url
    page.focus("nav.pager a[rel=prev]")  # Previous, by keyboard too: the page it came from
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"page=1$"))
    expect(page.locator("#queue-rows tr[data-id]")).to_have_attribute("data-id", first)
    expect(page.locator("nav.pager a[rel=prev]")).to_have_count(0)

    page.goto(later.replace("cursor=", "cursor=x"))  # an address edited, or kept from other filters
    expect(page.locator(".notice.error[role=alert]")).to_contain_text("shown from its first page")
    expect(page.locator("#queue-rows tr[data-id]")).to_have_attribute("data-id", first)
    assert failing(violations(page)) == [], "queue, stale address"
