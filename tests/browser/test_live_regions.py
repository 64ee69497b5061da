"""What a screen reader is told without asking (ADR 0064): an SLA countdown ticks silently (a timer), and its
turning at risk, then overdue, is said once each in the page's live region; so is a case the queue's poll
brings in. The page's clock is Playwright's, moved on to the case's warning and deadline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Running
from tests.browser.test_dashboard import ORDER, WAIT_MS, case_of, key_of, return_requested
from tests.integration.dashboard_harness import PASSWORD

pytestmark = pytest.mark.browser
# Every change of the live region's text, counted from when it is installed.
COUNT_SAID = """() => { window.said = [];
    new MutationObserver(() => window.said.push(document.getElementById("desk-live").textContent))
        .observe(document.getElementById("desk-live"), {childList: true, characterData: true, subtree: true}); }"""
SILENT = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], [role=marquee]"


def signed_in(browser: Any, running: Running, path: str) -> Any:
    context = browser.new_context(base_url=running.url)
    page = context.new_page()
    page.clock.install()  # the page's timers and Date are Playwright's to move on
    page.goto(f"/login?next={path.replace('?', '%3F').replace('=', '%3D')}")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    return page


def ms_from_render(page: Any, attribute: str) -> int:
    """How long after the page was rendered (by the server's clock) the countdown's ``attribute`` comes."""
    found: int = page.evaluate(f"Date.parse(document.querySelector('[data-due]').dataset.{attribute})"
                               " - Date.parse(document.body.dataset.now)")
    return found


def test_a_countdown_ticks_silently_and_says_at_risk_then_overdue_once(browser: Any, running: Running) -> None:
    running.deliver(return_requested(running, 1))
    key = key_of(running, case_of(running, ORDER + 1))
    page = signed_in(browser, running, f"/cases/{key}")  # the queue would poll its rows in anew, by the server's clock
    try:
        countdown = page.locator("[data-due]")
        assert countdown.get_attribute("role") == "timer"  # read when asked, never at each tick
        assert countdown.evaluate("(e, s) => e.closest(s)", SILENT) is None
        page.evaluate(COUNT_SAID)
        page.clock.run_for(3_000)
        assert page.evaluate("window.said") == []  # three ticks, nothing said

        page.clock.fast_forward(ms_from_render(page, "warn") + 2_000)
        expect(countdown).to_have_class(re.compile("sla-warn"), timeout=WAIT_MS)
        assert re.fullmatch(r".* left, at risk", countdown.inner_text())  # in words, not by colour alone
        page.clock.run_for(3_000)
        [said] = page.evaluate("window.said")
        assert re.fullmatch(rf"{key} is at risk: \d+h \d+m \d+s left\.", said)  # once, not at each tick since

        page.clock.fast_forward(ms_from_render(page, "due") - ms_from_render(page, "warn"))
        expect(countdown).to_have_class(re.compile("sla-breach"), timeout=WAIT_MS)
        page.clock.run_for(3_000)
        assert page.evaluate("window.said")[1:] == [f"{key} is overdue."]
    finally:
        page.context.close()


def test_a_case_the_poll_brings_in_is_said(browser: Any, running: Running) -> None:
    page = signed_in(browser, running, "/queue?view=all")
    try:
        page.evaluate(COUNT_SAID)
        running.deliver(return_requested(running, 2))
        case_of(running, ORDER + 2)
        page.evaluate("() => htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
                      " {target: '#queue-rows', swap: 'outerHTML'})")
        expect(page.locator("#desk-live")).to_have_text("1 new case in the queue.", timeout=WAIT_MS)
        assert page.evaluate("window.said") == ["1 new case in the queue."]
    finally:
        page.context.close()
