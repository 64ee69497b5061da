"""The dashboard in a real browser against a running opsdesk: sign in, a case arrives from a signed webhook
and appears without a reload, it is claimed and resolved with a refund that reaches the Shopify stand-in;
a second agent's claim is refused with the owner's name; a state change without the CSRF token is refused.

The tests share one running desk (its pipeline, timers and outbox on), so each works on orders of its
own, dated within the last hour by the desk's clock, and on the one case their return request opens.
Dated as the samples are by default (January 2026), an order was long past its ship-by and the
stuck-order thresholds: whenever the pipeline took its payment in a batch before its fulfilment had
arrived (the deliveries are posted one by one, so the busier the machine, the more often), the
delayed-fulfilment timer fired at once and opened a fulfilment case of its own, owned by team:ops,
which a test could take for its refund case.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import Running
from tests.integration.dashboard_harness import PASSWORD
from tests.samples import SHOP, order_lifecycle

pytestmark = pytest.mark.browser
ORDER = 5_000_000_000_000_000_000
WAIT_MS = 20_000


def eventually(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def page_as(browser: Any, running: Running) -> Iterator[Callable[[str], Any]]:
    """A fresh browser context (its own cookies) signed in as the given user, per call."""
    contexts = []

    def sign_in(username: str) -> Any:
        context = browser.new_context(base_url=running.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto("/queue?view=all")
        assert "/login" in page.url  # not signed in: sent to the login form
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/queue\?view=all$"))
        return page

    yield sign_in
    for context in contexts:
        context.close()


def key_of(running: Running, case_id: str) -> str:
    with running.desk.db.unit_of_work(read_only=True) as uow:
        return uow.cases.get(case_id).key


def return_requested(running: Running, n: int) -> list[dict[str, Any]]:
    """Order ``ORDER + n`` from creation to its return request (80.00: over the automatic-refund cap, so
    the refunds queue gets a case), dated within the last hour so that no monitor finds the order late."""
    return order_lifecycle(n, base=running.desk.clock.now() - timedelta(hours=1), price="80.00")[:6]


def case_of(running: Running, order_id: int) -> str:
    """The refund case the order's return request opened, which must be the only case about the order."""
    def find() -> list[Any] | None:
        with running.desk.db.unit_of_work(read_only=True) as uow:
            found = uow.cases.for_order(SHOP, order_id)
        return found if any(c.kind == "refund" for c in found) else None

    cases = eventually(find)
    assert cases, f"no refund case opened for order {order_id}"
    assert [(c.kind, c.queue) for c in cases] == [("refund", "refunds")], f"cases of order {order_id}: {cases}"
    return str(cases[0].id)


def test_a_case_arrives_is_claimed_and_refunded_through_shopify(page_as, running) -> None:
    page = page_as("alice")
    assert page.locator("#queue-rows tr[data-id]").count() == 0
    running.deliver(return_requested(running, 1))  # a return over the automatic-refund cap
    row = page.locator("#queue-rows tr[data-id]").first
    row.wait_for(timeout=WAIT_MS)  # the polled rows bring it in: no reload
    case_id = row.get_attribute("data-id")
    # Marked as new, so the eye finds it: the class comes when htmx settles the swap, just after the row.
    row.locator("xpath=self::*[contains(@class, 'fresh')]").wait_for(timeout=WAIT_MS)
    assert case_id == case_of(running, ORDER + 1)
    countdown = row.locator(".sla")
    first = countdown.text_content()
    assert countdown.get_attribute("data-due") and "sla-ok" in (countdown.get_attribute("class") or "")
    page.wait_for_function("t => document.querySelector('#queue-rows .sla').textContent !== t", arg=first,
                           timeout=5_000)  # it ticks
    row.locator("a").click()
    key = key_of(running, case_id)
    page.wait_for_url(f"**/cases/{key}")  # a case's page is at its key (ADR 0029)
    page.click("button:has-text('Claim')")
    page.wait_for_selector("#case-owner strong:has-text('you')")
    assert page.locator("input[name=amount]").input_value() == "80.00"
    page.click("button[data-resolution=approve_refund]")
    page.wait_for_selector("text=Confirm: Approve refund")  # nothing irreversible without a confirmation
    page.click("button:has-text('Yes, approve refund')")
    page.wait_for_url(f"**/cases/{key}")
    assert page.locator("#case-status").text_content() == "resolved"
    refunds = eventually(lambda: [e for e in running.shopify.effects
                                  if e.kind == "refundCreate" and e.order_id == ORDER + 1])
    assert [(str(e.amount), e.shop) for e in refunds] == [("80.00", "demo-store.myshopify.com")]
    page.reload()
    timeline = page.locator("#timeline").text_content() or ""
    assert "alice resolved case" in timeline and "refund 80.00" in timeline


def test_a_second_agents_claim_is_refused_with_the_owners_name(page_as, running) -> None:
    running.deliver(return_requested(running, 2))
    case_id = case_of(running, ORDER + 2)
    alice, bob = page_as("alice"), page_as("bob")
    bob.goto(f"/cases/{case_id}")  # bob has the page open, with its Claim button, before alice claims
    alice.goto(f"/cases/{case_id}")
    alice.click("button:has-text('Claim')")
    alice.wait_for_selector("#case-owner strong:has-text('you')")
    key = key_of(running, case_id)
    with bob.expect_response(lambda r: r.url.endswith(f"/cases/{key}/act/claim")) as answer:
        bob.click("button:has-text('Claim')")
    assert answer.value.status == 409
    assert bob.locator(".notice.error").text_content() == f"case {key} is already claimed by alice"
    assert bob.locator("#case-owner").text_content() == "alice"


def test_a_state_change_without_the_csrf_token_is_refused(page_as, running) -> None:
    running.deliver(return_requested(running, 3))
    case_id = case_of(running, ORDER + 3)
    page = page_as("alice")
    page.goto(f"/cases/{case_id}")
    post = """async ([url, token]) => {
        const body = new URLSearchParams(token ? {csrf_token: token} : {});
        const r = await fetch(url, {method: "POST", body, credentials: "same-origin", redirect: "manual"});
        return r.status;
    }"""
    url = f"/cases/{case_id}/act/claim"
    assert page.evaluate(post, [url, ""]) == 403
    assert page.evaluate(post, [url, "forged-token"]) == 403
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "team:support"
    token = page.locator("input[name=csrf_token]").first.input_value()
    assert page.evaluate(post, [url, token]) in (0, 303)  # the same request with the page's token works
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "alice"


def test_bulk_claim_by_keyboard_alone(page_as, running) -> None:
    running.deliver(return_requested(running, 4) + return_requested(running, 5))
    ids = {case_of(running, ORDER + 4), case_of(running, ORDER + 5)}
    page = page_as("bob")
    page.goto("/queue?view=team")
    assert {r.get_attribute("data-id") for r in page.locator("#queue-rows tr[data-id]").all()} == ids
    page.focus("#select-all")
    page.keyboard.press("Space")  # ticks every row of the page
    assert page.locator("input[name=case]:checked").count() == 2
    page.focus("button:has-text('Claim selected')")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=claimed 2 cases")
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert {uow.cases.get(i).owner for i in ids} == {"bob"}
    # The address is the queue's again, not the form's: a reload shows the queue, it does not post again.
    assert page.url.endswith("/queue?view=team&page=1")


def test_a_poll_answered_after_rows_were_ticked_keeps_the_ticks(page_as, running) -> None:
    """A poll already on its way when someone ticks rows must not swap them away (and the ticks with them)."""
    running.deliver(return_requested(running, 6))
    case_id = case_of(running, ORDER + 6)
    page = page_as("bob")
    page.goto("/queue?view=team")
    page.locator(f"#queue-rows tr[data-id='{case_id}'] input[name=case]").check()
    # what the 5 s poll sends, issued now: the request guard does not see it as the rows' own poll.
    # htmx.ajax's promise settles once the answer has been handled (swapped in, or the swap refused).
    page.evaluate("() => htmx.ajax('GET', document.getElementById('queue-rows').getAttribute('hx-get'),"
                  " {target: '#queue-rows', swap: 'outerHTML'})")
    assert page.locator("#queue-rows input[name=case]:checked").count() == 1


def test_when_the_session_ends_the_polling_queue_goes_to_sign_in(page_as) -> None:
    page = page_as("vera")
    page.context.clear_cookies()  # as if the session had expired
    page.wait_for_url(re.compile(r"/login\?next=%2Fqueue%3Fview%3Dall$"), timeout=WAIT_MS)
    assert page.locator("#queue-rows").count() == 0  # the login page, not a login form inside the table


def test_a_case_a_colleague_holds_offers_no_work_on_it_until_a_lead_takes_it_over(page_as, running) -> None:
    running.deliver(return_requested(running, 7))
    case_id = case_of(running, ORDER + 7)
    alice, bob, carol = page_as("alice"), page_as("bob"), page_as("carol")
    alice.goto(f"/cases/{case_id}")
    alice.click("button:has-text('Claim')")
    alice.wait_for_selector("#case-owner strong:has-text('you')")
    work = "section[aria-labelledby=act-h] button"  # the buttons of "Work the case", not the comment's
    assert alice.locator(work).all_text_contents() == [
        "Start", "Wait (pause the clock)", "Approve refund", "Deny", "Resolve, no action"]
    bob.goto(f"/cases/{case_id}")  # an agent: alice's case is hers to work; only a comment is his to add
    assert bob.locator(work).all_text_contents() == []
    held = "alice holds this case: its work is theirs. A lead can reassign it."
    assert bob.locator("#case-held").text_content() == held
    assert bob.locator("button:has-text('Comment')").count() == 1
    carol.goto(f"/cases/{case_id}")  # a lead: only the reassignment, which she uses to take the case over
    assert carol.locator(work).all_text_contents() == ["Assign"]
    carol.select_option("select[name=owner]", "carol")
    carol.click("button:has-text('Assign')")
    carol.wait_for_selector("#case-owner strong:has-text('you')")
    carol.click("button:has-text('Start')")
    carol.wait_for_selector("#case-status:has-text('in progress')")
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert (uow.cases.get(case_id).owner, uow.cases.get(case_id).status.value) == ("carol", "in_progress")


def test_every_page_reads_on_a_phone_without_scrolling_sideways(page_as, running) -> None:
    """At 375 px the rows of the queue and of readiness become cards; the other pages' tables (orders found,
    playbook rules) scroll inside their own box, and a long word in a comment (a link) wraps, rather than push
    the whole page wider than the screen."""
    running.deliver(return_requested(running, 8))
    case_id = case_of(running, ORDER + 8)
    page = page_as("alice")
    page.goto(f"/cases/{case_id}")
    page.fill("#comment", "the tracking page: https://track.example/" + "x" * 300)  # one long word, unbroken
    page.click("button:has-text('Comment')")
    page.wait_for_selector("text=Comment added")
    page.set_viewport_size({"width": 375, "height": 800})
    pages = ("/queue?view=all", f"/cases/{case_id}", f"/orders?q={ORDER + 8}", "/readiness", "/playbooks",
             "/settings", "/charts")
    for path in pages:
        page.goto(path)
        assert page.locator("main").count() == 1, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        if path.startswith("/orders"):
            assert page.locator("main table tbody tr").count() == 1  # the order found, its row in its box


def test_a_queue_left_open_across_a_new_sign_in_says_its_claim_was_not_accepted(page_as, running) -> None:
    """The tab's form carries the token of the session it was opened in; after signing in again (in another
    tab) its claim is refused, and the tab says so instead of doing nothing."""
    running.deliver(return_requested(running, 9))
    case_id = case_of(running, ORDER + 9)
    page = page_as("alice")
    other = page.context.new_page()
    other.goto("/queue")
    other.click("button:has-text('Sign out')")
    other.fill("input[name=username]", "alice")
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url(re.compile(r"/queue"))
    page.check(f"input[name=case][value='{case_id}']")
    page.click("button:has-text('Claim selected')")
    page.wait_for_selector("text=This form is from an earlier session", timeout=WAIT_MS)
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "team:support"


def test_after_signing_out_back_shows_no_page_of_the_desk(page_as) -> None:
    """Pages hold customers' names and emails: on a shared computer, Back after Sign out must not show them
    from the browser's cache (the pages are no-store, so Back asks the server, which wants a sign-in)."""
    page = page_as("vera")
    page.click("nav a:has-text('Readiness')")  # boosted by htmx: no copy of the queue kept in the tab
    page.wait_for_url(re.compile(r"/readiness$"))
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login$"))
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None
    page.go_back()
    page.wait_for_load_state()
    assert "/login?next=" in page.url and page.locator("#queue-rows, table").count() == 0


def test_a_second_enter_on_the_confirmation_does_not_send_the_refund(page_as, running) -> None:
    """Enter in a resolution's note submits it; the confirmation that comes up must not take a second Enter
    (a double press, a key held) as its Yes: its focus is on the question, not on the button that refunds."""
    running.deliver(return_requested(running, 10))
    case_id = case_of(running, ORDER + 10)
    page = page_as("alice")
    page.goto(f"/cases/{case_id}")
    page.fill("input[aria-label='Note for Approve refund']", "damaged in transit")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Confirm: Approve refund")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert "Confirm: Approve refund" in page.title()
    with running.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).status.value == "open"
    page.keyboard.press("Tab")  # the first Tab reaches Yes
    assert page.evaluate("document.activeElement.textContent") == "Yes, approve refund"
