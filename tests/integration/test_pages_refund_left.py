"""A refund case whose return was refunded already offers no approval, and the server refuses one (ADR 0052, #20).

Before, the case page offered *Approve refund* filled with the request's full amount; the outbox then refused it
("not sent: return ... was refunded in Shopify") and opened a follow-up case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.desk import Desk
from opsdesk.domain.records import CaseFilter
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import dashboard_desk, sign_in
from tests.integration.desk_harness import bearer
from tests.integration.test_pages_answers import notice, post
from tests.samples import delivery, order_lifecycle

RETURN_ID = 4_000_001


def deliver(client: TestClient, desk: Desk, deliveries: list[dict[str, object]]) -> None:
    for d in deliveries:
        body = d["body"]
        assert isinstance(body, bytes | str)
        sent = client.post("/webhooks/shopify", content=body if isinstance(body, bytes) else body.encode(),
                           headers=d["headers"])  # type: ignore[arg-type]
        assert sent.status_code == 200
    desk.process_pending()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Desk, str]]:
    desk = dashboard_desk(tmp_path, monkeypatch)
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, order_lifecycle(1, price="80.00")[:6])  # a return over the cap: a refund case
        with desk.db.unit_of_work(read_only=True) as uow:
            (case,) = uow.cases.search(CaseFilter(), 5)
        sign_in(client, "alice")
        yield client, desk, case.id


def refund_the_return_in_shopify(client: TestClient, desk: Desk) -> None:
    last = order_lifecycle(1, price="80.00")[6]
    payload = json.loads(last["body"])
    payload["return"] = {"id": RETURN_ID, "admin_graphql_api_id": f"gid://shopify/Return/{RETURN_ID}"}
    deliver(client, desk, [delivery("refunds/create", payload, "w-1-refund-from-return")])


def test_the_case_page_offers_what_is_left_and_no_approval_once_the_return_was_refunded(client) -> None:
    client, desk, case_id = client
    assert 'data-resolution="approve_refund"' in client.get(f"/cases/{case_id}").text  # offered while unrefunded
    refund_the_return_in_shopify(client, desk)
    page = client.get(f"/cases/{case_id}").text
    assert 'data-resolution="approve_refund"' not in page
    assert f"Approve refund is not offered: nothing is left to refund: return {RETURN_ID} was refunded" in page


def test_an_approval_of_a_refunded_return_is_refused_before_anything_is_queued(client) -> None:
    client, desk, case_id = client
    refund_the_return_in_shopify(client, desk)
    with desk.db.unit_of_work(read_only=True) as uow:
        before = len(uow.outbox.for_order(uow.cases.get(case_id).shop, uow.cases.get(case_id).order_id or 0))
    for confirmed in ("", "yes"):  # neither asked about on the confirmation, nor done when posted confirmed
        refused = post(client, f"/cases/{case_id}/resolve", resolution="approve_refund", amount="80.00",
                       confirmed=confirmed)
        assert refused.status_code == 400, confirmed
        assert "Confirm:" not in refused.text
        assert notice(refused.text).startswith(f"nothing is left to refund: return {RETURN_ID} was refunded")
    with desk.db.unit_of_work(read_only=True) as uow:
        case = uow.cases.get(case_id)
        assert case.status.value == "open"
        assert len(uow.outbox.for_order(case.shop, case.order_id or 0)) == before


def test_the_api_refuses_an_approval_above_what_is_left_with_a_400_and_queues_nothing(client) -> None:
    client, desk, case_id = client
    refund_the_return_in_shopify(client, desk)
    refused = client.post(f"/api/v1/cases/{case_id}/resolve", json={"resolution": "approve_refund", "amount": "80.00"},
                          headers=bearer(desk, "alice", "agent"))
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"].startswith(f"nothing is left to refund: return {RETURN_ID} was refunded")
    with desk.db.unit_of_work(read_only=True) as uow:
        case = uow.cases.get(case_id)
        assert case.status.value == "open" and uow.outbox.for_order(case.shop, case.order_id or 0) == []


def test_an_approval_of_more_than_is_left_is_refused_on_the_page_before_the_confirmation(client) -> None:
    client, _desk, case_id = client
    refused = post(client, f"/cases/{case_id}/resolve", resolution="approve_refund", amount="100000")
    assert refused.status_code == 400 and "Confirm:" not in refused.text
    # the return's one unit is less than the order has left: it is what is left of the request (ADR 0055)
    assert notice(refused.text) == (f"100000 is more than is left to refund: return {RETURN_ID}'s units not refunded "
                                    "yet are worth 80.00 (the order has 404.95 left)")


def test_a_request_whose_amount_is_not_known_is_offered_no_amount_not_the_orders_remainder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order whose line says nothing of its tax (no ``tax_lines``) has an unknown worth (ADR 0049): its return is a
    person's, and the approval is left for them to fill; the order's remainder is a cap, not what the return is
    worth, so it is not offered."""
    desk = dashboard_desk(tmp_path, monkeypatch)
    lifecycle = order_lifecycle(1, price="80.00")[:6]
    untaxed = []
    for d in lifecycle:
        topic, webhook = d["headers"]["X-Shopify-Topic"], d["headers"]["X-Shopify-Webhook-Id"]
        payload = json.loads(d["body"])
        for line in payload.get("line_items") or [] if topic.startswith("orders/") else []:
            line.pop("tax_lines", None)
        untaxed.append(delivery(topic, payload, webhook))
    with TestClient(create_app(desk, background=False), base_url="http://127.0.0.1") as client:
        deliver(client, desk, untaxed)
        with desk.db.unit_of_work(read_only=True) as uow:
            (case,) = uow.cases.search(CaseFilter(), 5)
        sign_in(client, "alice")
        page = client.get(f"/cases/{case.id}").text
    assert 'data-resolution="approve_refund"' in page
    assert '<input name="amount" inputmode="decimal" value="" size="8" required>' in page
