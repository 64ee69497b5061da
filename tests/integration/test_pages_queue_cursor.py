"""The dashboard's queue pages by the API's cursor (ADR 0052 amended, ADR 0059): a person following "Next" while a
case ends and another opens neither misses nor sees twice a case that stayed. By offset (``?page=2``) the page
after a case ended started one case late: the case that moved up onto page 1 was never shown.

A desk on a SQLite file and on PostgreSQL, cases from real Shopify deliveries (a return for an OTHER reason is a
refund case), the dashboard over HTTP as a browser asks for it, following the links the page itself gives.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.services import dashboard
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.integration.test_cases_api_cursor import deliver  # seven refund cases, their deadlines in order
from tests.integration.test_pages_answers import BROWSER

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
KEY = re.compile(r'<span class="case-key">(C-\d+)</span>')
NEXT = re.compile(r'<a href="(/queue\?[^"]+)" rel="next"')


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Desk:
    postgres = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=ManualClock(NOW), database_url=postgres)


@pytest.fixture
def client(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Seven refund cases in the queue, three a page; signed in as a viewer."""
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 3)
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, *range(1, 8))
        sign_in(client, "vera")
        yield client


def load(client: TestClient, address: str) -> tuple[list[str], str | None, str]:
    """The case keys a queue page shows, the address its Next link goes to (None: none), and its text."""
    page = client.get(address, headers=BROWSER)
    assert page.status_code == 200, page.text
    found = NEXT.search(page.text)
    return KEY.findall(page.text), html.unescape(found.group(1)) if found else None, page.text


def end_case(client: TestClient, desk: Desk, key: str) -> None:
    alice = bearer(desk, "alice", "agent")
    for action, body in (("claim", None), ("resolve", {"resolution": "no_action"})):
        assert client.post(f"/api/v1/cases/{key}/{action}", json=body, headers=alice).status_code == 200


def test_following_next_while_a_case_ends_and_one_opens_skips_and_repeats_nothing(client, desk) -> None:
    viewer = bearer(desk, "vi", "viewer")
    before = [c["key"] for c in client.get("/api/v1/cases", params={"limit": 100}, headers=viewer).json()["cases"]]
    assert len(before) == 7
    seen, following, _ = load(client, "/queue?view=all&queue=refunds")
    assert seen == before[:3] and following

    end_case(client, desk, seen[1])  # between two page loads one the person saw ends; between the next two,
    loads = 0  # a new one opens (its deadline is the soonest: it sorts onto the first page)
    later: list[str] = []
    while following:
        assert "queue=refunds" in following and "view=all" in following  # the view's filters are kept
        shown, following, text = load(client, following)
        seen, later, loads = seen + shown, [*later, text], loads + 1
        if loads == 1:
            deliver(client, desk, 8)
    stayed = [key for key in before if key != seen[1]]
    assert [key for key in seen if key in stayed] == stayed  # each once, in the queue's order
    assert len(seen) == len(set(seen)) == 7
    assert all('rel="first"' in text for text in later)  # a way back to the start on every later page


def test_a_garbled_or_stale_cursor_shows_the_first_page_and_says_so(client, desk) -> None:
    _, following, _ = load(client, "/queue?view=all")
    assert following and "cursor=" in following
    for address in (following.replace("cursor=", "cursor=x"), following.replace("view=all", "view=all&queue=refunds"),
                    "/queue?view=all&cursor=not-a-cursor&page=2"):
        page = client.get(address, headers=BROWSER)
        assert page.status_code == 400, (address, page.text)  # never a 500
        text = html.unescape(page.text)
        assert 'class="notice error"' in page.text and "shown from its first page" in text, text
        assert "page 1 of 3" in text and KEY.findall(page.text)  # the first page, with its cases


def test_a_due_within_view_pages_on_as_the_clock_moves(client, desk) -> None:
    """"Due within 24h" ends at now + 24 h, a time that moves with every load: the cursor is for the window's name,
    so the next page a minute later is still its next page (not refused as made for other filters)."""
    seen, following, _ = load(client, "/queue?view=all&due=24h")
    desk.clock.advance(minutes=1)  # type: ignore[attr-defined]  # the test's ManualClock
    while following:
        assert "due=24h" in following
        shown, following, text = load(client, following)
        assert "notice error" not in text
        seen += shown
    assert len(seen) == len(set(seen)) == 7


PREVIOUS = re.compile(r'<a href="(/queue\?[^"]*)" rel="prev"')


def previous_of(text: str) -> str | None:
    found = PREVIOUS.search(text)
    return html.unescape(found.group(1)) if found else None


def test_previous_goes_back_page_by_page_and_a_case_that_ended_meanwhile_skips_none(client, desk) -> None:
    """Previous is the page the person came from, started after the same case (the cursor it was made with, carried
    in the address): a case of page 1 that ends while page 3 is shown moves the rest up, yet going back shows every
    case that stayed. By number (an offset) page 2 would start one case late, and the case moved up onto page 1
    would be skipped going back to page 2."""
    first, following, text = load(client, "/queue?view=all&queue=refunds")
    assert previous_of(text) is None  # page 1: nothing before it
    second, following, _ = load(client, following or "")
    third, _, text = load(client, following or "")
    assert len(first + second + third) == 7
    end_case(client, desk, first[1])
    previous = previous_of(text)
    assert previous, "no Previous link on page 3"
    back_to_second, _, text = load(client, previous)
    assert back_to_second == second and "page 2 of" in text  # it starts after page 1's last case, as it did
    previous = previous_of(text)
    assert previous, "no Previous link on page 2"
    back_to_first, _, text = load(client, previous)
    assert back_to_first == [first[0], first[2], second[0]] and "page 1 of" in text
    assert previous_of(text) is None and 'rel="first"' not in text
    stayed = [key for key in first + second + third if key != first[1]]
    assert set(back_to_first + back_to_second + third) == set(stayed)  # going back skipped none


def test_a_previous_trail_that_does_not_fit_shows_the_first_page_and_says_so(client, desk) -> None:
    _, following, _ = load(client, "/queue?view=all")
    _, following, _ = load(client, following or "")
    assert following and "back=" in following, following  # page 3's address carries where page 2 started
    for address in (following.replace("back=", "back=x"), following + "&back=not.a.cursor"):
        page = client.get(address, headers=BROWSER)
        assert page.status_code == 400, (address, page.text)
        assert "shown from its first page" in html.unescape(page.text) and "page 1 of 3" in page.text
