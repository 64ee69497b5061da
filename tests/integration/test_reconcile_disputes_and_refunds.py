"""A lost dispute or refund is recovered by the sweep, and what the desk does on it happens once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.desk import Desk
from opsdesk.domain.orders import Versioned
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import RECONCILE
from opsdesk.testing import ManualClock
from tests.integration.http_harness import serving
from tests.integration.reconcile_harness import (
    _TOPIC,
    REFUND_PLAYBOOK,
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    arrive_late,
    build,
    database,
    decisions_on,
    drain,
    mutations,
    post,
    refunded,
    states,
)
from tests.samples import SHOP, delivery, sample

__all__ = ["database"]  # the fixture: SQLite and PostgreSQL


def dispute_cases(desk: Desk, order_id: int) -> list[Any]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(uow.cases.get(c.id), len(uow.cases.timeline(c.id)))
                for c in uow.cases.for_order(SHOP, order_id) if c.kind == "dispute"]


def test_a_lost_dispute_is_recovered_its_case_opens_once_with_its_deadline_and_late_webhooks_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    versions = _order(2)  # created, then paid: every webhook of the order arrives
    order_id = versions[-1][1]["id"]
    initiated, due = T0 + timedelta(minutes=30), T0 + timedelta(days=7)
    created = sample("disputes/create")
    created.update(id=285_332_461_850_802_050, order_id=order_id, type="chargeback", status="needs_response",
                   amount="19.99", currency="USD", initiated_at=initiated.isoformat(),
                   evidence_due_by=due.isoformat(), evidence_sent_on=None, finalized_on=None)
    lost_create = delivery("disputes/create", created, "w-dispute-create", triggered_at=initiated)
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, _ = build(tmp_path, "dispute", database("dispute"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            for v, (at, payload) in enumerate(versions):
                clock.set(at)
                for topic in (_TOPIC[v], "orders/updated"):
                    assert post(client, url, delivery(topic, payload, f"w-{v}-{topic}", triggered_at=at)) == 200
        drain(desk)  # the disputes/create webhook was lost: nobody knows of the chargeback
        assert dispute_cases(desk, order_id) == []
        fake.put_order_payload(versions[-1][1])
        fake.put_dispute_payload(created)

        clock.set(T0 + timedelta(minutes=45))
        [report] = desk.reconcile_due(reconciler)
        assert [(f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (f"dispute:{created['id']}", "disputes/create", "missing")]
        assert report.ok and report.appended == report.missing == 1 and report.stale == report.undecided == 0
        assert (report.dispute_pages, report.disputes_seen, report.seen) == (1, 1, 1)
        drain(desk)

        [(case, changes)] = dispute_cases(desk, order_id)
        assert case.queue == "disputes" and case.detail["rule"] == "chargeback-needs-evidence"
        assert case.detail["hard_deadline"] == due.isoformat()  # the evidence deadline, from the Admin API
        assert states(desk, [order_id])[order_id].disputes[created["id"]].status == "needs_response"  # type: ignore[union-attr]
        decided = decisions_on(desk, order_id)

        # The real webhook, retried by Shopify after the sweep: the same event, decided already.
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            assert post(client, url, lost_create) == 200
        drain(desk)
        assert dispute_cases(desk, order_id) == [(case, changes)]
        assert decisions_on(desk, order_id) == decided
        again = reconciler.sweep(SHOP)
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []

        # Evidence is sent and the disputes/update is lost too: the desk holds an older version.
        sent = T0 + timedelta(days=2)
        updated = {**created, "status": "under_review", "evidence_sent_on": sent.isoformat()}
        fake.put_dispute_payload(updated)
        clock.set(sent + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert [(f["topic"], f["reason"], f["known_at"]) for f in report.found] == [
            ("disputes/update", "stale", initiated.isoformat())]
        drain(desk)
        assert states(desk, [order_id])[order_id].disputes[created["id"]].status == "under_review"  # type: ignore[union-attr]
        [(still, _)] = dispute_cases(desk, order_id)  # the update joins the open case; none opens
        assert still.id == case.id
        decided = decisions_on(desk, order_id)
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            late = delivery("disputes/update", updated, "w-dispute-update", triggered_at=sent)
            assert post(client, url, late) == 200
        drain(desk)
        assert decisions_on(desk, order_id) == decided and dispute_cases(desk, order_id)[0][0] == still
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0


def test_a_lost_refund_is_recovered_with_its_money_and_what_the_desk_does_on_it_happens_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    # Order a: every webhook arrives but the refunds/create: its orders/updated lists the refund, which counts
    # (ADR 0041, session 15) and is decided as its own webhook would be. Order b: its orders/updated for the refund
    # is lost too, so the desk holds it as paid.
    (a, b) = (_order(2), _order(5))  # created, then paid
    at_a, at_b = T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)
    refund_a, after_a = refunded(a[-1][1], 7_300_000_001, at_a)
    refund_b, after_b = refunded(b[-1][1], 7_300_000_002, at_b)
    ids = [after_a["id"], after_b["id"]]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "refund", database("refund"), fake, monkeypatch, clock, (REFUND_PLAYBOOK,))
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        refunded_a = delivery("orders/updated", after_a, "w-a-refunded", triggered_at=at_a)
        arrive_created_and_paid(desk, clock, [a, b], (at_a, refunded_a))  # no refunds/create arrives
        assert [s.refunds if s else None for s in states(desk, ids).values()] == [
            {refund_a["id"]: Versioned("issued", at_a, Decimal("85.00"))}, {}]
        for payload in (after_a, after_b):
            fake.put_order_payload(payload)

        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (ids[1], "order", "orders/updated", "stale"),  # the order's own delivery first, then its refund
            (ids[1], f"refund:{refund_b['id']}", "refunds/create", "missing")]  # a's was held and decided
        assert (report.seen, report.refunds_seen, report.missing, report.stale, report.appended) == (2, 2, 1, 1, 2)
        assert report.as_dict()["refunds_seen"] == 2
        with desk.db.unit_of_work(read_only=True) as uow:
            appended = [s.delivery for s in uow.deliveries.pending(10)]
        assert [(d.topic, d.webhook_id, d.api_version) for d in appended] == [
            ("orders/updated", f"reconcile:{ids[1]}:2026-03-02T08:50:00.000000Z", RECONCILE),
            ("refunds/create", f"reconcile:refund:{refund_b['id']}:2026-03-02T08:50:00.000000Z", RECONCILE)]
        drain(desk)

        recovered = states(desk, ids)
        assert {i: s.refunds if s else None for i, s in recovered.items()} == {
            ids[0]: {refund_a["id"]: Versioned("issued", at_a, Decimal("85.00"))},
            ids[1]: {refund_b["id"]: Versioned("issued", at_b, Decimal("85.00"))}}
        assert [s.refunded if s else None for s in recovered.values()] == [Decimal("85.00")] * 2
        assert [s.payment_status if s else None for s in recovered.values()] == ["partially_refunded"] * 2
        tagged = mutations(fake)
        assert sorted(op for op, _ in tagged) == ["tagsAdd", "tagsAdd"] and set(tagged.values()) == {1}
        emails = sorted(a.idempotency_key for a in smtp.sent)
        assert len(emails) == len(set(emails)) == 2
        decided = [decisions_on(desk, i) for i in ids]
        assert all(("refund.created:" + str(r["id"]), "refund-notice") in d
                   for r, d in zip((refund_a, refund_b), decided, strict=True))

        # The real webhooks, retried by Shopify after the sweep: the same events, decided already.
        arrive_late(desk, "refunds/create", [(refund_a, at_a), (refund_b, at_b)])
        assert states(desk, ids) == recovered
        assert [decisions_on(desk, i) for i in ids] == decided
        assert mutations(fake) == tagged and sorted(a.idempotency_key for a in smtp.sent) == emails
        again = reconciler.sweep(SHOP, since=T0)  # the same window again: both refunds read, none appended
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []
        assert (again.seen, again.refunds_seen) == (2, 2)
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0
