"""The address case, worked to the end: the customer never answered about the address the carrier refused, and
a person releases the order's fulfilment hold from the case (the address fixed in Shopify, or shipping as is),
from the case page over HTTP or through the case service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseRecord
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.cases import act, open_case
from tests.integration.address.harness import (
    ASK,
    FULFILMENT_ORDER,
    Desk,
    answer,
    effects,
    holds,
    paid,
    unanswered,
)
from tests.integration.dashboard_harness import agent_client, csrf_of
from tests.integration.fulfilment_harness import ORDER_ID, Run
from tests.samples import SHOP


def nothing_more_happens(run: Run, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin,
                         resolved: list[tuple[str, CaseStatus]] | None = None) -> None:
    """The customer's late answer (a new address, which the carrier accepts) is checked like any change of the
    address before the order ships, and it and the days after it hold nothing again and open nothing."""
    answer(run, 30, "w-late-answer")
    run.advance(hours=48)
    assert effects(shopify) == ["fulfillmentOrderHold", "fulfillmentOrderReleaseHold"]
    assert holds(shopify) == ["OPEN"]
    expected = resolved or [("address", CaseStatus.RESOLVED)]
    assert [(c.kind, c.status) for c in run.cases(active_only=False)] == expected
    assert ([c.status for c in carrier.calls], run.customer_mail(smtp)) == ([422, 200], [ASK])  # asked once


def last_audit(run: Run) -> tuple[str, str, str]:
    """The newest audit entry's actor, action and subject (read straight from the table)."""
    from sqlalchemy import select

    from opsdesk.storage import tables

    with run.desk.db.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(select(tables.audit.c.actor, tables.audit.c.action, tables.audit.c.subject)
                           .order_by(tables.audit.c.id.desc()).limit(1)).one()
    return row[0], row[1], row[2]


def test_a_person_releases_the_hold_of_an_unanswered_address_from_its_page(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(*desk, carrier, smtp, shopify)
    with agent_client(run.desk, "fred", run.clock.now()) as client:
        page = client.get(f"/cases/{case.id}").text
        offered = [name for name in ("release_hold", "no_action", "deny", "reship", "approve_refund")
                   if f'data-resolution="{name}"' in page]
        assert offered == ["release_hold", "no_action"]
        form = {"csrf_token": csrf_of(page), "resolution": "release_hold", "note": "address fixed in Shopify"}
        asked = client.post(f"/cases/{case.id}/resolve", data=form)
        assert "releases the desk&#39;s address hold in Shopify" in asked.text and holds(shopify) == ["ON_HOLD"]
        done = client.post(f"/cases/{case.id}/resolve", data={**form, "confirmed": "yes"}, follow_redirects=False)
        assert done.status_code == 303
        run.settle()  # the outbox sends the release

        [release] = [e for e in shopify.effects if e.kind == "fulfillmentOrderReleaseHold"]
        assert (release.target, release.order_id, holds(shopify)) == (FULFILMENT_ORDER, ORDER_ID, ["OPEN"])
        page = client.get(f"/cases/{case.id}").text
    assert f"fred resolved case {case.key} as release_hold: address fixed in Shopify" in page
    assert "<strong>release hold</strong>" in page and '<span class="pill">sent</span>' in page
    assert last_audit(run) == ("fred", "case.resolved", f"case:{case.id}")
    nothing_more_happens(run, carrier, smtp, shopify)


def test_releasing_through_the_case_service_sends_the_release_and_says_who(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run, case = unanswered(tmp_path, monkeypatch, f"sqlite:///{tmp_path}/opsdesk.db", carrier, smtp, shopify)
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "resolve", "fred", run.clock.now(), run.desk.case_hooks, resolution="release_hold",
            note="shipping as is: the carrier's database lags behind this new street")
        uow.commit()
    run.settle()

    with run.desk.db.unit_of_work(read_only=True) as uow:
        resolved = uow.cases.get(case.id)
        [change] = uow.cases.timeline(case.id)[-1:]
        decided = resolved.detail["decision"]["id"]
        [action] = [a for a in uow.outbox.for_order(SHOP, ORDER_ID) if a.decision_id == decided]
    assert (resolved.status, resolved.resolution, change.actor, change.kind) == (
        CaseStatus.RESOLVED, "release_hold", "fred", "resolved")
    assert (action.kind, action.status.value, action.payload["order_id"]) == ("release_hold", "sent", ORDER_ID)
    assert holds(shopify) == ["OPEN"]
    nothing_more_happens(run, carrier, smtp, shopify)


def test_a_hold_a_person_releases_while_the_answer_is_awaited_ends_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin
) -> None:
    run = paid(tmp_path, monkeypatch, f"sqlite:///{tmp_path}/opsdesk.db", carrier, smtp, shopify)
    run.settle()
    run.advance(hours=2)  # the customer has been asked; the order's lateness comes to a person, who ships it
    other = CaseRecord("late-1", SHOP, "fulfilment", "fulfilment", "Order #9999: late", "not shipped",
                       run.clock.now(), order_id=ORDER_ID, source="test")
    with run.desk.db.unit_of_work() as uow:
        open_case(uow, other, run.desk.case_hooks, run.clock.now())
        act(uow, "late-1", "resolve", "fred", run.clock.now(), run.desk.case_hooks, resolution="release_hold")
        uow.commit()
    run.settle()

    assert (holds(shopify), last_audit(run)) == (["OPEN"], ("fred", "address.released", f"address:{SHOP}:{ORDER_ID}"))
    nothing_more_happens(run, carrier, smtp, shopify, resolved=[("fulfilment", CaseStatus.RESOLVED)])
