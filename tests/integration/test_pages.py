"""The dashboard's pages over the real app: a desk on a SQLite file, real sign-in, real Shopify deliveries.

Three returns over the automatic-refund cap (80.00) are escalated by the starter refunds playbook to the
``refunds`` queue, owned by the support team until someone claims them, each with SLA clocks (first
response 4 h, resolution 24 h, on an always-open calendar).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.services import monitors
from opsdesk.services.cases import open_case, settle
from opsdesk.testing import ManualClock
from opsdesk.web.app import create_app
from tests.conftest import SQL_BACKENDS
from tests.integration.dashboard_harness import csrf_of, dashboard_desk, sign_in
from tests.samples import order_lifecycle

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ORDER = 5_000_000_000_000_000_001
ROW = re.compile(r'<tr data-id="([^"]+)"')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(params=SQL_BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Desk:
    """The same pages on a SQLite file and on a PostgreSQL schema of its own."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return dashboard_desk(tmp_path, monkeypatch, clock=clock, database_url=url)


def deliver(client: TestClient, desk: Desk, *orders: int) -> None:
    for n in orders:
        for d in order_lifecycle(n, price="80.00")[:6]:
            response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
            assert response.status_code == 200
    desk.process_pending()


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, 1, 2, 3)
        yield client


def case_ids(desk: Desk) -> dict[int, str]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return {c.order_id or 0: c.id for c in uow.cases.search(CaseFilter(), 50)}


def key_of(desk: Desk, case_id: str) -> str:
    with desk.db.unit_of_work(read_only=True) as uow:
        return uow.cases.get(case_id).key


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def act(client: TestClient, path: str, **form: str) -> object:
    token = csrf_of(client.get("/queue").text)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)


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


def test_a_second_agents_claim_is_refused_with_the_owners_name(client, desk) -> None:
    ids = case_ids(desk)
    sign_in(client, "alice")
    assert act(client, f"/cases/{ids[ORDER]}/act/claim").status_code == 303
    client.cookies.clear()
    sign_in(client, "bob")
    refused = act(client, f"/cases/{ids[ORDER]}/act/claim")
    assert refused.status_code == 409
    assert f"case {key_of(desk, ids[ORDER])} is already claimed by alice" in refused.text  # by its key, as said
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(ids[ORDER]).owner == "alice"


def test_the_case_page_offers_claim_only_on_a_case_no_person_holds(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    key = key_of(desk, case_id)  # the page's forms post to the case's key (ADR 0029)
    claim, start = f'action="/cases/{key}/act/claim"', f'action="/cases/{key}/act/start"'
    sign_in(client, "alice")
    assert claim in client.get(f"/cases/{case_id}").text  # the team's: anyone of it may claim it
    act(client, f"/cases/{case_id}/act/claim")
    assert claim not in client.get(f"/cases/{case_id}").text  # hers
    client.cookies.clear()
    sign_in(client, "bob")
    page = client.get(f"/cases/{case_id}").text
    assert (claim in page, start in page) == (False, False)  # alice's: bob's claim would be refused


def test_a_case_a_colleague_holds_offers_no_work_on_it_and_a_lead_may_reassign_it(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    key = key_of(desk, case_id)  # the page's forms post to the case's key (ADR 0029)
    work = [f'action="/cases/{key}/act/{a}"' for a in ("claim", "start", "wait")]
    resolve = f'action="/cases/{key}/resolve"'
    sign_in(client, "alice")
    act(client, f"/cases/{case_id}/act/claim")
    mine = client.get(f"/cases/{case_id}").text
    assert [w in mine for w in work] == [False, True, True] and resolve in mine and 'id="case-held"' not in mine
    for other, assign in (("bob", False), ("carol", True)):  # an agent; a lead, who may reassign it
        client.cookies.clear()
        sign_in(client, other)
        page = client.get(f"/cases/{case_id}").text
        assert [w in page for w in work] == [False, False, False] and resolve not in page, other
        assert ("Assign to" in page, 'id="case-held"' in page) == (assign, True), other
        assert "alice holds this case: its work is theirs." in page
    act(client, f"/cases/{case_id}/act/assign", owner="carol")
    taken = client.get(f"/cases/{case_id}").text  # carol's now: hers to work
    assert [w in taken for w in work] == [False, True, True] and resolve in taken


def test_bulk_claim_claims_the_free_cases_and_names_the_owner_of_the_others(client, desk) -> None:
    ids = case_ids(desk)
    sign_in(client, "alice")
    act(client, f"/cases/{ids[ORDER]}/act/claim")
    client.cookies.clear()
    sign_in(client, "bob")
    token = csrf_of(client.get("/queue").text)
    form = [("csrf_token", token), ("next", "/queue?view=mine")] + [
        ("case", ids[ORDER + k]) for k in (0, 1, 2)
    ]
    response = client.post(
        "/queue/claim",
        content="&".join(f"{k}={v}" for k, v in form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "claimed 2 cases" in response.text
    assert f"case {key_of(desk, ids[ORDER])} is already claimed by alice" in response.text
    assert sorted(rows(response.text)) == sorted([ids[ORDER + 1], ids[ORDER + 2]])  # the "mine" view
    with desk.db.unit_of_work(read_only=True) as uow:
        assert [uow.cases.get(ids[ORDER + k]).owner for k in (0, 1, 2)] == ["alice", "bob", "bob"]


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


def test_a_lead_reassigns_a_case_and_an_agent_may_only_take_it_himself(client, desk) -> None:
    case_id = case_ids(desk)[ORDER]
    sign_in(client, "alice")
    assert "Assign to" not in client.get(f"/cases/{case_id}").text
    assert act(client, f"/cases/{case_id}/act/assign", owner="bob").status_code == 403
    assert act(client, f"/cases/{case_id}/act/assign", owner="alice").status_code == 303
    client.cookies.clear()
    sign_in(client, "carol")
    assert "Assign to" in client.get(f"/cases/{case_id}").text
    assert act(client, f"/cases/{case_id}/act/assign", owner="bob", note="alice is away").status_code == 303
    with desk.db.unit_of_work(read_only=True) as uow:
        assert uow.cases.get(case_id).owner == "bob"
    timeline = client.get(f"/cases/{case_id}").text
    assert "carol</div>" in timeline and "owner: alice → bob" in timeline and "alice is away" in timeline


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
