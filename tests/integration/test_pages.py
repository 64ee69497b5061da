"""The dashboard's pages over the real app: a desk on a SQLite file, real sign-in, real Shopify deliveries.

Three returns over the automatic-refund cap (80.00) are escalated by the starter refunds playbook to the
``refunds`` queue, owned by the support team until someone claims them, each with SLA clocks (first
response 4 h, resolution 24 h, on an always-open calendar).
Claiming and reassigning are in ``test_pages_claims``, the case page in ``test_pages_case_page``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.services.cases import open_case
from tests.integration.dashboard_harness import sign_in
from tests.integration.pages_harness import (
    NOW,
    ORDER,
    act,
    case_ids,
    client,
    clock,
    deliver,
    desk,
    key_of,
    rows,
)

__all__ = ["client", "clock", "desk"]  # the fixtures: a signed-in client of a desk


def test_pages_need_a_signed_in_person(client) -> None:
    for path in ("/", "/queue", "/queue/rows", "/orders", "/charts", "/readiness", "/playbooks", "/settings"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_the_queue_lists_cases_due_first_with_live_countdowns(client, desk, clock) -> None:
    sign_in(client, "alice")
    html = client.get("/queue?view=all").text
    ids = case_ids(desk)
    with desk.db.unit_of_work(read_only=True) as uow:
        api_order = [c.id for c in uow.cases.search(CaseFilter(), 50)]
    assert rows(html) == api_order and sorted(api_order) == sorted(ids.values())
    assert "3 cases" in html
    assert [n for n in ("#1001", "#1002", "#1003") if f"Return requested on order {n}<" in html] == [
        "#1001",
        "#1002",
        "#1003",
    ]  # the order's number, not its 19-digit id
    # Each countdown carries the first deadline (first response, 4 h) and its first warning (at 50%).
    with desk.db.unit_of_work(read_only=True) as uow:
        first = uow.cases.get(ids[ORDER])
    assert first.due_at is not None
    assert first.due_at == NOW + timedelta(hours=4)
    warn = NOW + timedelta(hours=2)
    assert f'data-due="{first.due_at.isoformat()}" data-warn="{warn.isoformat()}"' in html
    assert "sla-ok" in html and "sla-warn" not in html
    clock.advance(hours=2, minutes=30)
    sign_in(client, "alice")  # sessions end after 30 idle minutes
    assert 'class="sla sla-warn"' in client.get("/queue?view=all").text
    # A waiting case's clocks stand still: no running deadline, so it goes after those that have one.
    waited = act(client, f"/cases/{api_order[0]}/act/wait", on="customer")
    assert waited.status_code == 303, waited.text
    html = client.get("/queue?view=all").text
    assert rows(html) == [*api_order[1:], api_order[0]]
    assert html.count('class="sla sla-paused"') == 1
    clock.advance(hours=2)
    sign_in(client, "alice")
    html = client.get("/queue?view=all").text
    assert html.count('class="sla sla-breach"') == 2 and html.count('class="sla sla-paused"') == 1


def test_queue_views_and_filters(client, desk) -> None:
    sign_in(client, "alice")
    ids = case_ids(desk)
    assert rows(client.get("/queue?view=mine").text) == []
    assert len(rows(client.get("/queue?view=team").text)) == 3  # owned by team:support until claimed
    assert rows(client.get("/queue?view=all&queue=disputes").text) == []
    assert len(rows(client.get("/queue?view=all&kind=refund&status=open").text)) == 3
    act(client, f"/cases/{ids[ORDER]}/act/claim")
    assert rows(client.get("/queue?view=mine").text) == [ids[ORDER]]
    assert rows(client.get("/queue?view=all&owner=alice").text) == [ids[ORDER]]
    assert len(rows(client.get("/queue?view=team").text)) == 2
    assert rows(client.get("/queue?view=all&due=breached").text) == []
    assert len(rows(client.get("/queue?view=all&due=24h").text)) == 3


def test_new_cases_appear_in_the_polled_rows_fragment(client, desk) -> None:
    sign_in(client, "alice")
    fragment = client.get("/queue/rows?view=all")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<tbody id="queue-rows"')
    assert 'hx-trigger="every 5s"' in fragment.text and "<html" not in fragment.text
    assert len(rows(fragment.text)) == 3
    deliver(client, desk, 4)
    assert len(rows(client.get("/queue/rows?view=all").text)) == 4
    assert 'data-total="4 cases"' in client.get("/queue/rows?view=all").text


def test_a_refund_is_confirmed_before_anything_is_sent(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "alice")
    asked = act(client, f"/cases/{case_id}/resolve", resolution="approve_refund", amount="80.00")
    assert asked.status_code == 200
    assert "Confirm: Approve refund" in asked.text and 'name="confirmed" value="yes"' in asked.text
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).status.value == "open"
        assert [a.kind for a in uow.outbox.for_order("demo-store.myshopify.com", ORDER)] == []
    done = act(
        client, f"/cases/{case_id}/resolve", resolution="approve_refund", amount="80.00", confirmed="yes"
    )
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{key_of(desk, case_id)}"
    with desk.db.unit_of_work(read_only=True) as uow:
        case = uow.cases.get(case_id)
        actions = uow.outbox.for_order(case.shop, ORDER)
    assert (case.status.value, case.resolution) == ("resolved", "approve_refund")
    assert [(a.kind, a.payload.get("amount")) for a in actions] == [("refund", "80.00"), ("email", "80.00")]
    page = client.get(f"/cases/{case_id}").text
    assert "desk / approve_refund" in page and "alice resolved case" in page and "refund 80.00" in page
    # Nothing is sent yet: the confirmation waits for its refund, said as the order page says it (ADR 0042).
    assert "pending, waits for the refund" in page


def test_state_changes_without_the_csrf_token_are_refused(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "alice")
    for path, form in (
        (f"/cases/{case_id}/act/claim", {}),
        ("/queue/claim", {"case": case_id}),
        (f"/cases/{case_id}/resolve", {"resolution": "no_action"}),
    ):
        assert client.post(path, data=form, follow_redirects=False).status_code == 403
        assert (
            client.post(path, data={**form, "csrf_token": "forged"}, follow_redirects=False).status_code
            == 403
        )
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "team:support"


def test_a_viewer_reads_but_cannot_act(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "vera")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Work the case" not in page.text
    assert act(client, f"/cases/{case_id}/act/claim").status_code == 403


def test_orders_are_found_by_number_id_and_email(client) -> None:
    sign_in(client, "vera")
    for term in ("#1002", "1002", str(ORDER + 1), "c2@example.com", "C2@example.com"):
        html = client.get("/orders", params={"q": term}).text
        assert f"/orders/demo-store.myshopify.com/{ORDER + 1}" in html, term
        assert f'/orders/demo-store.myshopify.com/{ORDER}"' not in html, term
    assert "No order has" in client.get("/orders", params={"q": "nobody@example.com"}).text
    order = client.get(f"/orders/demo-store.myshopify.com/{ORDER + 1}")
    assert order.status_code == 200
    assert "c2@example.com" in order.text and "Ship by" in order.text and "refunds /" in order.text
    assert client.get("/orders/other.myshopify.com/1").status_code == 404


def test_the_read_only_pages_render_their_evidence(client) -> None:
    sign_in(client, "vera")
    charts = client.get("/charts").text
    assert charts.count("<svg") == 5
    for title in (
        "Automation rate",
        "Backlog",
        "SLA compliance",
        "Time to resolution",
        "Money at risk caught",
    ):
        assert title in charts
    playbooks = client.get("/playbooks").text
    assert "no problem" in playbooks and "refunds" in playbooks
    settings = client.get("/settings").text
    for text in ("Alice Ng", "support", "always", "SLA policies", "Warehouses"):
        assert text in settings
    readiness = client.get("/readiness")
    assert readiness.status_code == 200 and "control-" in readiness.text


def test_static_assets_are_vendored_and_public(client) -> None:
    for path, needle in (
        ("/static/vendor/htmx.min.js", "htmx"),
        ("/static/desk.js", "data-due"),
        ("/static/desk.css", ".sla-breach"),
    ):
        response = client.get(path)
        assert response.status_code == 200 and needle in response.text, path


def test_a_browser_gets_a_readable_page_for_what_it_may_not_see_and_the_api_keeps_json(client) -> None:
    sign_in(client, "vera")
    html = {"Accept": "text/html,application/xhtml+xml"}
    missing = client.get("/cases/no-such-case", headers=html)
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text and "Back to the queue" in missing.text
    other = client.get("/orders/other.myshopify.com/1", headers=html)
    assert other.status_code == 404 and "<h1>Not found</h1>" in other.text
    assert client.get("/cases/no-such-case").json() == {"error": "no case no-such-case"}
    assert client.get("/api/v1/cases/no-such-case", headers=html).headers["content-type"].startswith(
        "application/json")


def test_a_discount_case_known_by_a_code_is_paused_from_its_page_without_an_id(client, desk) -> None:
    record = CaseRecord(
        "disc-1", "demo-store.myshopify.com", "discount", "refunds", "Discount 'CLEAR40': below cost floor",
        "below cost floor; not paused (policy)", NOW, source="discount-guard:disc-1",
        detail={"discount_id": "", "code": "CLEAR40", "incident": "disc-1"},
    )
    with desk.db.unit_of_work() as uow:
        open_case(uow, record, desk.case_hooks, NOW)
        uow.commit()
    sign_in(client, "alice")
    page = client.get("/cases/disc-1").text
    field = re.search(r'<input name="discount_id"[^>]*>', page)
    assert field is not None and "required" not in field.group(0) and "by code CLEAR40" in field.group(0)

    act(client, "/cases/disc-1/resolve", resolution="pause_discount", discount_id="", confirmed="yes")
    with desk.db.unit_of_work() as uow:  # what the outbox would send next (not committed)
        case = uow.cases.get("disc-1")
        [action] = uow.outbox.claim_due(NOW + timedelta(days=1), 10, NOW + timedelta(days=2), "test")
    assert (case.status.value, case.resolution) == ("resolved", "pause_discount")
    assert (action.kind, action.payload["discount_id"], action.payload["code"]) == (
        "deactivate_discount", "", "CLEAR40")
