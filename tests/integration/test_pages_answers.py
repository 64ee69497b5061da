"""What a browser gets back from the dashboard's forms: after each action, a line saying what was done; for
bad input, a stale form or an ended session, a page that says what went wrong, with what was typed kept,
never a JSON body or a silent trip to another page.

Found by using the dashboard as a first-time ops lead (docs/adr/0052): each of these answered JSON, lost the
person's place, or said nothing, before.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import csrf_of, dashboard_desk, sign_in
from tests.samples import order_lifecycle

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    return dashboard_desk(tmp_path, monkeypatch)


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        for d in order_lifecycle(1, price="80.00")[:6]:  # a return over the cap: a refund case for support
            assert client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code == 200
        desk.process_pending()
        sign_in(client, "alice")
        yield client


@pytest.fixture
def case_id(desk: Desk) -> str:
    with desk.db.unit_of_work(read_only=True) as uow:
        (case,) = uow.cases.search(CaseFilter(), 5)
    return case.id


def post(client: TestClient, path: str, **form: str) -> object:
    token = csrf_of(client.get("/queue").text)
    return client.post(path, data={"csrf_token": token, **form}, headers=BROWSER, follow_redirects=False)


def notice(page: str) -> str:
    start = page.index('class="notice error"')
    return html.unescape(page[page.index(">", start) + 1: page.index("</", start)])


def test_a_refund_amount_that_is_no_positive_number_is_refused_on_the_case_page_before_any_confirmation(
    client, desk, case_id
) -> None:
    for amount, confirmed, said in (
        ("abc", "", "amount is not a number: 'abc'"),
        ("12,50", "", "amount is not a number: '12,50'"),
        ("-5", "", "amount must be positive"),
        ("abc", "yes", "amount is not a number: 'abc'"),
    ):
        refused = post(client, f"/cases/{case_id}/resolve", resolution="approve_refund", amount=amount,
                       confirmed=confirmed)
        assert refused.status_code == 400, (amount, confirmed)
        assert refused.headers["content-type"].startswith("text/html")
        assert "Confirm:" not in refused.text and notice(refused.text) == said
        assert "Work the case" in refused.text  # the case page itself, its resolutions offered again
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).status.value == "open"


def test_an_unknown_resolution_is_refused_on_the_case_page(client, case_id) -> None:
    refused = post(client, f"/cases/{case_id}/resolve", resolution="refund_everything")
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert notice(refused.text) == "unknown resolution 'refund_everything'"


def test_a_comment_over_the_limit_is_refused_on_the_case_page_with_its_text_kept(client, desk, case_id) -> None:
    page = client.get(f"/cases/{case_id}").text
    assert 'maxlength="10000"' in page  # the browser stops typing at the limit
    text = "lorem ipsum " * 9_000  # 108 KB, pasted past the limit or posted by hand
    refused = post(client, f"/cases/{case_id}/act/comment", note=text)
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert notice(refused.text) == "a comment has at most 10,000 characters; this one has 108,000"
    assert html.escape(text, quote=False) in refused.text  # back in the text box, nothing lost
    with desk.db.unit_of_work(read_only=True) as uow:
        assert [c.kind for c in uow.cases.timeline(case_id)].count("comment") == 0


def test_a_stale_form_from_a_browser_gets_a_page_saying_to_reload_and_the_api_keeps_json(client, case_id) -> None:
    refused = client.post(f"/cases/{case_id}/act/comment", data={"note": "hi", "csrf_token": "from-before"},
                          headers={**BROWSER, "Referer": f"http://127.0.0.1/cases/{case_id}"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "This form is from an earlier session" in refused.text
    assert f'href="/cases/{case_id}"' in refused.text  # back to the page the form was on, to reload it
    api = client.post(f"/api/v1/cases/{case_id}/comment", json={"note": "hi"})
    assert api.status_code == 403
    assert api.json() == {"error": "CSRF token missing or wrong: reload the page and try again"}


def test_a_form_posted_after_the_session_ended_signs_in_again_back_to_the_page_it_was_on(client, case_id) -> None:
    token = csrf_of(client.get(f"/cases/{case_id}").text)
    client.post("/logout", data={"csrf_token": token})  # the session ends on the server; a stale tab keeps its cookie
    client.cookies.set("opsdesk_session", "an-ended-session")
    stale = csrf_of(client.get("/login").text)  # a token of that ended session's cookie, as its old page held
    ended = client.post(f"/cases/{case_id}/act/comment", data={"note": "hi", "csrf_token": stale},
                        headers={**BROWSER, "Referer": f"http://127.0.0.1/cases/{case_id}"}, follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == f"/login?next=/cases/{case_id}"


def done(client: TestClient, path: str, **form: str) -> str:
    """Post a case form as a browser does, follow its redirect, and return the notice the page shows."""
    posted = post(client, path, **form)
    assert posted.status_code == 303, posted.text
    page = client.get(posted.headers["location"], headers=BROWSER).text
    start = page.index('class="notice" role="status"')
    return html.unescape(page[page.index(">", start) + 1: page.index("</", start)])


def test_each_action_on_a_case_page_says_what_it_did_once(client, case_id) -> None:
    said = [
        done(client, f"/cases/{case_id}/act/claim"),
        done(client, f"/cases/{case_id}/act/comment", note="called the customer"),
        done(client, f"/cases/{case_id}/act/wait", on="customer"),
        done(client, f"/cases/{case_id}/act/resume"),
        done(client, f"/cases/{case_id}/resolve", resolution="deny", note="outside the window", confirmed="yes"),
        done(client, f"/cases/{case_id}/act/reopen"),
    ]
    assert said == [
        "Claimed: the case is yours.",
        "Comment added to the timeline.",
        "Waiting on the customer: the SLA clocks are paused until you resume.",
        "Resumed: the SLA clocks run again.",
        "Resolved: deny. What it sends goes out through the outbox; the timeline shows it.",
        "Reopened.",
    ]
    again = client.get(f"/cases/{case_id}", headers=BROWSER).text  # a reload does not say it again
    assert 'class="notice" role="status"' not in again


def test_a_malformed_page_address_gets_a_readable_page_and_the_api_keeps_json(client) -> None:
    bad = client.get("/orders/demo-store.myshopify.com/not-a-number", headers=BROWSER)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "<h1>Bad request</h1>" in bad.text and "order_id: Input should be a valid integer" in bad.text
    api = client.get("/api/v1/orders/not-a-number", headers=BROWSER)
    assert api.status_code == 422 and api.json()["problems"][0]["at"] == "path.order_id"


def test_readiness_counts_the_controls_that_pass_as_opsdesk_check_does(client) -> None:
    client.cookies.clear()
    sign_in(client, "vera")  # readiness spans every shop: vera views them all
    page = client.get("/readiness").text
    assert "controls do not pass" not in page
    assert re.search(r"\d+ of \d+ controls pass", page)  # "11 of 12 controls pass", the CLI's words


def test_my_teams_view_names_the_team_whose_cases_it_lists(client) -> None:
    mine = client.get("/queue?view=team").text  # alice is in support alone: no menu of teams
    assert notice_of(mine, "queue-team") == "The cases team:support holds, not yet claimed by a person."
    client.cookies.clear()
    sign_in(client, "vera")  # in no team: the desk's default team
    theirs = client.get("/queue?view=team").text
    assert notice_of(theirs, "queue-team") == (
        "You are in no team: the cases the default team, team:ops, holds, not yet claimed by a person.")


def test_a_resolved_case_says_its_status_once_and_each_note_names_its_resolution(client, case_id) -> None:
    page = client.get(f"/cases/{case_id}").text
    assert 'aria-label="Note for Deny"' in page and 'aria-label="Note for Approve refund"' in page
    done(client, f"/cases/{case_id}/resolve", resolution="deny", confirmed="yes")
    resolved = client.get(f"/cases/{case_id}").text
    status = resolved[resolved.index("<dt>Status</dt>"): resolved.index("<dt>Owner</dt>")]
    assert status.count("resolved") == 1, status


def notice_of(page: str, element: str) -> str:
    start = page.index(f'id="{element}"')
    return html.unescape(page[page.index(">", start) + 1: page.index("</", start)])


def test_an_account_that_is_no_person_lands_on_every_case_not_on_an_always_empty_my_cases(client) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/queue?view=mine"  # alice
    client.cookies.clear()
    sign_in(client, "vera")  # a viewer, no person of the desk: no case is ever hers
    assert client.get("/", follow_redirects=False).headers["location"] == "/queue?view=all"
    mine = client.get("/queue?view=mine").text
    assert "New cases appear here as they arrive" not in mine
    assert "No case is ever yours: your account is no person of the desk" in html.unescape(mine)


def test_the_amount_refunded_is_in_the_orders_currency_as_its_total_is(client, case_id) -> None:
    case = client.get(f"/cases/{case_id}").text
    order = client.get(re.search(r'href="(/orders/[^"]+/\d+)"', case).group(1)).text  # type: ignore[union-attr]
    for page in (case, order):
        assert re.search(r"<dt>Total</dt><dd>[0-9.]+ USD</dd>", page)
        assert re.search(r"<dt>Refunded</dt><dd>0(\.00)? USD</dd>", page)
