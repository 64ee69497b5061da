"""A person on the keyboard alone (Tab, Enter, Space) signs in, opens a case, claims it and resolves it, and
sees where the focus is on every control the Tab key passes (ADR 0064)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import focus_ring, visibly_focused
from tests.browser.conftest import Running
from tests.browser.test_dashboard import ORDER, WAIT_MS, case_of, key_of, return_requested
from tests.integration.dashboard_harness import PASSWORD

pytestmark = pytest.mark.browser
MOST_TABS = 80  # more than any page here has controls before the one sought


class Keyboard:
    """Tabs through a page, keeping every control it passed and how its focus showed."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.passed: list[dict[str, Any] | None] = []

    def tab_to(self, selector: str) -> None:
        """Tab (never the mouse) until the control ``selector`` names has the focus."""
        for _ in range(MOST_TABS):
            self.page.keyboard.press("Tab")
            self.passed.append(focus_ring(self.page))
            if self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{MOST_TABS} presses of Tab never reached {selector}")

    def unseen(self) -> list[str]:
        """The controls passed whose focus could not be seen, each with its outline."""
        return [f"{ring and ring['tag']} {ring and ring['name']!r}: {ring}" for ring in self.passed
                if not visibly_focused(ring)]


def test_sign_in_open_claim_and_resolve_a_case_by_keyboard_alone(browser: Any, running: Running) -> None:
    running.deliver(return_requested(running, 1))
    key = key_of(running, case_of(running, ORDER + 1))
    context = browser.new_context(base_url=running.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        keys = Keyboard(page)
        page.goto("/queue?view=all")
        page.wait_for_url(re.compile(r"/login"))
        page.keyboard.type("alice")  # the username box has the focus
        keys.tab_to("input[name=password]")
        page.keyboard.type(PASSWORD)
        keys.tab_to("button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/queue\?view=all$"))

        keys.tab_to(f"a[href='/cases/{key}']")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/cases/{key}")
        keys.tab_to("form[action$='/act/claim'] button")
        page.keyboard.press("Space")
        page.wait_for_selector("#case-owner strong:has-text('you')", timeout=WAIT_MS)

        keys.tab_to("button[data-resolution=approve_refund]")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Confirm: Approve refund")
        keys.tab_to("input[name=confirmed] ~ button")
        page.keyboard.press("Space")
        page.wait_for_url(f"**/cases/{key}")
        assert page.locator("#case-status").text_content() == "resolved"
        assert keys.unseen() == []
        assert len(keys.passed) > 10  # the skip link, the sections, the queue's filters, the case's controls
    finally:
        context.close()


def test_a_section_opened_by_keyboard_takes_the_focus_to_its_heading(browser: Any, running: Running) -> None:
    """The sections' links are boosted (htmx swaps the page in): without a load, the focus would be left on
    nothing (the link it was on is gone), and a screen reader would not say that the page changed."""
    context = browser.new_context(base_url=running.url)
    try:
        page = context.new_page()
        page.goto("/login?next=/queue")
        page.fill("input[name=username]", "carol")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/queue"))
        Keyboard(page).tab_to("nav a[href='/readiness']")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/readiness$"))
        expect(page.locator("main h1")).to_be_focused()
        assert page.title() == "Readiness · opsdesk"
    finally:
        context.close()
