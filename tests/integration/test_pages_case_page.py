"""The case page over the real app (SQLite and PostgreSQL): its story, its level, its times, its key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from opsdesk.domain.records import CaseRecord
from opsdesk.services import monitors
from opsdesk.services.cases import open_case, settle
from tests.integration.dashboard_harness import sign_in
from tests.integration.pages_harness import NOW, ORDER, act, case_ids, client, clock, desk

__all__ = ["client", "clock", "desk"]  # the fixtures: a signed-in client of a desk


def test_the_case_page_tells_the_whole_story(client, desk, clock) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "alice")
    act(client, f"/cases/{case_id}/act/claim")
    clock.advance(hours=3)  # past the first response's first warning (2 h), before its breach (4 h)
    sign_in(client, "alice")  # sessions end after 30 idle minutes
    act(client, f"/cases/{case_id}/act/comment", note="asked the customer for a photo")
    act(client, f"/cases/{case_id}/act/wait", on="customer")
    clock.advance(hours=30)  # paused: the resolution clock passes no checkpoint while the case waits
    sign_in(client, "alice")
    response = client.get(f"/cases/{case_id}")
    assert response.status_code == 200, response.text
    html = response.text
    timeline = html[html.index('id="timeline"') :]
    # The automated decision that opened the case, with its rule and inputs, then the people's changes.
    assert (
        "refunds /" in timeline and "opened this case" in timeline and "inputs (playbook version" in timeline
    )
    for entry in ("claimed", "comment", "asked the customer for a photo", "waiting"):
        assert entry in timeline
    assert 'class="sla sla-paused"' in html and "paused" in html  # waiting pauses the clock
    assert "first response warning: 50% of the time used" in timeline  # the SLA checkpoints passed
    assert "breached" not in timeline
    assert "#1001" in html and "c1@example.com" in html  # the order and the customer beside it
    heading = r'<h1><span class="case-key" id="case-key">C-[123]</span> Return requested on order #1001</h1>'
    assert re.search(heading, html)
    with desk.db.unit_of_work(read_only=True) as uow:  # so titled as it opened: the order was stored by then
        assert uow.cases.get(case_id).title == "Return requested on order #1001"
    offered = re.findall(r'data-resolution="(\w+)"', html)
    assert offered == ["approve_refund", "deny", "no_action"]  # what fits a refund case linked to an order
    act(client, f"/cases/{case_id}/act/resume")
    assert 'class="sla sla-paused"' not in client.get(f"/cases/{case_id}").text


def test_an_escalated_case_page_shows_its_level(client, desk, clock) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "alice")
    act(client, f"/cases/{case_id}/act/claim")
    clock.advance(days=8)  # past the resolution SLA's breach: the ladder moves the case up
    sweeper = desk.sweeper()
    while sweeper.run_once():
        pass
    sign_in(client, "alice")
    response = client.get(f"/cases/{case_id}")
    assert response.status_code == 200, response.text
    assert re.search(r"escalation level: (0 → )?[1-9]", response.text)


def test_a_late_order_case_someone_works_on_says_plainly_when_the_order_has_shipped_since(client, desk, clock) -> None:
    record = CaseRecord(
        "delayed-1", "demo-store.myshopify.com", "fulfilment", "refunds", "Order #1001 has not shipped",
        "25 hours past its ship-by time", NOW, order_id=ORDER, source="monitor:delayed-fulfilment",
        detail={"playbook": "delayed-fulfilment"},
    )
    with desk.db.unit_of_work() as uow:
        open_case(uow, record, desk.case_hooks, NOW)
        uow.commit()
    sign_in(client, "alice")
    act(client, "/cases/delayed-1/act/claim")
    act(client, "/cases/delayed-1/act/start")
    clock.advance(minutes=20)
    with desk.db.unit_of_work() as uow:  # what the delayed-fulfilment watcher does when the order ships
        assert not settle(uow, "delayed-1", "the order shipped", clock.now(), desk.case_hooks)
        uow.commit()

    html = client.get("/cases/delayed-1").text

    assert re.search(r'id="case-moot"[^>]*>\s*<strong>The order shipped</strong> 2026-01-05 10:20 UTC', html)
    assert '<span class="pill">moot</span>' in html[html.index("<h1>") : html.index("</h1>")]
    assert 'id="case-status">in progress' in html  # still theirs to close: only they know what is left
    queue = client.get("/queue?view=all").text
    assert '<span class="pill" title="the order shipped">moot</span>' in queue


def test_a_monitors_case_page_reads_its_times_like_the_rest_of_the_page_and_claims_no_playbook_version(
    client, desk
) -> None:
    since = datetime(2026, 1, 2, 9, 30, 15, tzinfo=UTC)
    reason = f"no change for 72 hours (threshold 72 h); last: order.paid at {since.isoformat()}"
    record = CaseRecord(
        "stuck-1", "demo-store.myshopify.com", "stuck_order", "refunds", "Order #1001 is stuck (paid)", reason,
        NOW, order_id=ORDER, source="monitor:stuck-order", detail={"playbook": "stuck-order", "stage": "paid"},
    )
    with desk.db.unit_of_work() as uow:  # as services/stuck.py records and opens it
        monitors.record_decision(uow, "stuck-1", "demo-store.myshopify.com", ORDER, "stuck-order", "stuck-paid",
                                 "escalate", f"no change since {since.isoformat()}", {"since": since}, NOW)
        open_case(uow, record, desk.case_hooks, NOW)
        uow.commit()
    sign_in(client, "alice")

    html = client.get("/cases/stuck-1").text
    order_html = client.get(f"/orders/demo-store.myshopify.com/{ORDER}").text

    assert "<dd>no change for 72 hours (threshold 72 h); last: order.paid at 2026-01-02 09:30 UTC</dd>" in html
    assert "<div>no change since 2026-01-02 09:30 UTC</div>" in html
    assert html.count("2026-01-02T09:30:15") == 1  # only in the inputs, as the monitor recorded them
    assert "playbook version -" not in html and "playbook version -" not in order_html
    assert "inputs (playbook version " in html  # a playbook's own decision still names its version


def test_a_case_page_is_found_by_its_key_and_shows_it_first_as_the_queue_does(client, desk) -> None:
    """ADR 0029: the queue row and the case page name the case by its key; /cases/<key> is its page, and the
    page's actions work through the key as through the id."""
    sign_in(client, "alice")
    case_id = case_ids(desk)[ORDER]
    with desk.db.unit_of_work(read_only=True) as uow:
        key = uow.cases.get(case_id).key
    assert re.fullmatch(r"C-[123]", key)
    queue = client.get("/queue?view=all").text
    link = f'<a href="/cases/{key}"><span class="case-key">{key}</span> Return requested on order #1001</a>'
    assert link in queue
    page = client.get(f"/cases/{key}")
    assert page.status_code == 200 and page.text == client.get(f"/cases/{case_id}").text
    assert f'<h1><span class="case-key" id="case-key">{key}</span> Return requested on order #1001</h1>' in page.text
    assert f"case id {case_id}" in page.text
    assert f"<title>{key} · Return requested on order #1001 · opsdesk</title>" in page.text
    claimed = act(client, f"/cases/{key.lower()}/act/claim")
    assert claimed.status_code == 303 and claimed.headers["location"] == f"/cases/{key}"  # the key as it is shown
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "alice"
    assert client.get("/cases/C-99").status_code == 404
