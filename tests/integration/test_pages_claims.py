"""Claiming and reassigning cases from the dashboard's pages, over the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.integration.dashboard_harness import csrf_of, sign_in
from tests.integration.pages_harness import ORDER, act, case_ids, client, clock, desk, key_of, rows

__all__ = ["client", "clock", "desk"]  # the fixtures: a signed-in client of a desk


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
