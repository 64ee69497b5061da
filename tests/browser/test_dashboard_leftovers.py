"""What ADR 0052's audit left, in a real browser: readiness's offenders by key and on a phone, times in the
business calendar's zone, a bulk claim without scripts, a comment typed as the session ended.

This module's desk keeps its business calendars in New York, so that a time shown in UTC is told apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from opsdesk.domain.records import CaseRecord
from opsdesk.services import sessions
from opsdesk.web.auth import SESSION_COOKIE
from tests.browser.conftest import Running, desk_running
from tests.browser.test_dashboard import ORDER, case_of, key_of, page_as, return_requested  # noqa: F401  (a fixture)
from tests.integration.dashboard_harness import ORG, PASSWORD
from tests.samples import SHOP

pytestmark = pytest.mark.browser
ZONE = "America/New_York"
NEW_YORK = {**ORG, "calendars": {name: {**cal, "timezone": ZONE} for name, cal in ORG["calendars"].items()}}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with desk_running(tmp_path_factory.mktemp("browser-ny"), NEW_YORK) as served:
        yield served


def unowned_case(running: Running) -> str:
    """A case nobody owns (as one opened before owners were required): readiness's order-owners names it."""
    with running.desk.db.unit_of_work() as uow:
        case = uow.cases.open(CaseRecord(id="case-without-owner", shop=SHOP, kind="order", queue="orders",
                                          title="nobody's case", reason="opened by hand",
                                          opened_at=running.desk.clock.now(), source="test"))
        uow.commit()
    return key_of(running, case.id)


def test_readiness_links_an_offending_case_by_its_key(page_as, running) -> None:  # noqa: F811
    key = unowned_case(running)
    page = page_as("carol")
    page.goto("/readiness")
    link = page.locator("#control-order-owners a[href^='/cases/']")
    assert (link.get_attribute("href"), link.text_content()) == (f"/cases/{key}", f"case {key}")
    link.click()
    page.wait_for_url(f"**/cases/{key}")


def test_readiness_reads_on_a_phone_without_scrolling_sideways(page_as, running) -> None:  # noqa: F811
    unowned_case(running)  # a failing control, its evidence and offenders open
    page = page_as("carol")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/readiness")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Nothing scrolls sideways inside the page either (a table in a box of its own, wider than the screen).
    wider = page.evaluate("Array.from(document.querySelectorAll('main *')).filter(e => e.scrollWidth > e.clientWidth"
                          " + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => e.tagName)")
    assert wider == []
    assert page.locator("#control-order-owners").is_visible()


def test_times_are_shown_in_the_calendars_zone_and_say_which(page_as, running) -> None:  # noqa: F811
    running.deliver(return_requested(running, 61))
    case_id = case_of(running, ORDER + 61)
    with running.desk.db.unit_of_work(read_only=True) as uow:
        opened = uow.cases.get(case_id).opened_at
    local = opened.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M %Z")  # EST or EDT
    page = page_as("alice")
    row = page.locator(f"#queue-rows tr[data-id='{case_id}']")
    assert row.locator("td[data-label=Opened]").text_content() == local
    page.goto(f"/cases/{case_id}")
    stamps = page.locator("#timeline .at").all_text_contents()
    assert stamps and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", s) for s in stamps), stamps
    assert page.locator("footer").text_content() == f"Times are in {ZONE}, the business calendars' time zone."


def sign_in_without_scripts(browser: Any, running: Running, username: str) -> Any:
    context = browser.new_context(base_url=running.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/queue?view=team")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/queue\?view=team$"))
    return page


def test_a_bulk_claim_without_scripts_lands_on_the_queue_not_on_the_form(browser, running) -> None:
    running.deliver(return_requested(running, 62))
    case_id = case_of(running, ORDER + 62)
    page = sign_in_without_scripts(browser, running, "bob")
    try:
        page.check(f"input[name=case][value='{case_id}']")
        page.click("button:has-text('Claim selected')")
        page.wait_for_load_state()
        assert re.search(r"/queue\?view=team&page=1$", page.url), page.url  # not /queue/claim
        expect(page.locator(".notice")).to_have_text(["claimed 1 case"])
        with running.desk.db.unit_of_work(read_only=True) as uow:
            assert uow.cases.get(case_id).owner == "bob"
        page.reload()  # a GET: nothing is posted again, and the message was said once
        expect(page.locator(".notice")).to_have_count(0)
    finally:
        page.context.close()


def end_session(running: Running, page: Any) -> None:
    """End the tab's session on the server, as its expiry does (the browser keeps its cookie)."""
    [token] = [c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    with running.desk.db.unit_of_work() as uow:
        sessions.end_session(uow, token, now=running.desk.clock.now())
        uow.commit()


def drafts(page: Any) -> list[str]:
    """The drafts the tab keeps (htmx keeps the path it is on, no page: ``historyCacheSize`` is 0)."""
    keys: list[str] = page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('opsdesk-draft:'))")
    return keys


def tab_storage(page: Any) -> dict[str, str]:
    return page.evaluate("Object.fromEntries(Object.entries(sessionStorage))")  # type: ignore[no-any-return]


def test_a_comment_typed_as_the_session_ended_is_in_its_box_after_signing_in(page_as, running) -> None:  # noqa: F811
    running.deliver(return_requested(running, 63))
    key = key_of(running, case_of(running, ORDER + 63))
    page = page_as("alice")
    page.goto(f"/cases/{key}")
    text = "Called the customer: they keep the parcel.\nRefund once the carrier confirms."
    page.fill("#comment", text)
    end_session(running, page)  # the session ended while the comment was typed
    page.click("button:has-text('Comment')")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/cases/{key}")
    expect(page.locator("#comment")).to_have_value(text)
    page.click("button:has-text('Comment')")
    page.wait_for_selector("text=Comment added")
    expect(page.locator("#comment")).to_have_value("")  # posted: the draft is gone
    assert drafts(page) == []
    assert text.partition("\n")[0] in (page.locator("#timeline").text_content() or "")
    page.fill("#comment", "a second thought, never posted")
    other = page.context.new_page()  # another tab of the desk, with a draft of its own
    other.goto(f"/cases/{key}")
    other.fill("#comment", "a third, in another tab")
    assert drafts(other) == [f"opsdesk-draft:alice {key}"]
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login$"))
    assert drafts(page) == [] and key not in str(tab_storage(page))  # nothing of a case is left in the tab,
    expect(other.locator("#comment")).to_have_value("a third, in another tab")
    other.wait_for_function("() => !Object.keys(sessionStorage).some(k => k.startsWith('opsdesk-draft:'))")
    assert "a third" not in str(tab_storage(other))  # nor in the desk's other tabs


def test_a_draft_is_not_given_to_the_next_person_in_the_tab(page_as, running) -> None:  # noqa: F811
    running.deliver(return_requested(running, 64))
    key = key_of(running, case_of(running, ORDER + 64))
    page = page_as("alice")
    page.goto(f"/cases/{key}")
    page.fill("#comment", "alice's words")
    end_session(running, page)
    page.goto("/login")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"/cases/{key}")
    expect(page.locator("#comment")).to_have_value("")


def test_resolved_cases_show_the_latest_resolved_first(page_as, running) -> None:  # noqa: F811
    running.deliver(return_requested(running, 65) + return_requested(running, 66))
    first, second = case_of(running, ORDER + 65), case_of(running, ORDER + 66)
    page = page_as("alice")
    for case_id in (first, second):  # in the order they were opened: the later opened is resolved last
        page.goto(f"/cases/{case_id}")
        page.click("button:has-text('Resolve, no action')")
        page.wait_for_selector("#case-status:has-text('resolved')")
    page.goto("/queue?view=all&status=resolved")
    shown = [r.get_attribute("data-id") for r in page.locator("#queue-rows tr[data-id]").all()]
    assert shown[:2] == [second, first]
