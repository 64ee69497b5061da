"""The reconciliation sweep recovers lost return requests (ADR 0015, amendment returns).

Over real HTTP: webhooks into the desk's intake, the sweep's reads from the fake Admin API, on SQLite and
PostgreSQL. A ``returns/request`` Shopify gave up on is read back on its order (``Order.returns``) and decided
once by the ordinary pipeline; the real webhook arriving after the sweep, and the next sweep, change nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.desk import Desk
from opsdesk.domain.orders import Versioned
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import RECONCILE
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    arrive_late,
    build,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    decisions_on,
    drain,
    states,
)
from tests.samples import SHOP, delivery, sample

CHEAP_LINE, DEAR_LINE = 789012345678901234, 976318377106520349  # 19.99 and 159.99 in Shopify's order sample


def requested(
    order: dict[str, Any], return_id: int, line_id: int, reason: str, **fields: Any
) -> dict[str, Any]:
    """Shopify's ``returns/request`` sample for one line of ``order``, the line as live shops send it."""
    body = sample("returns/request")
    body.update(
        id=return_id,
        admin_graphql_api_id=f"gid://shopify/Return/{return_id}",
        name=f"{order['name']}-R1",
        order={"id": order["id"], "admin_graphql_api_id": f"gid://shopify/Order/{order['id']}"},
        total_return_line_items=1,
        return_line_items=[
            {
                "id": return_id + 1,
                "admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{return_id + 1}",
                "fulfillment_line_item": {"id": return_id + 2, "line_item": {"id": line_id}},
                "quantity": 1,
                "return_reason": reason,
                "return_reason_note": "",
                "customer_note": None,
            }
        ],
        **fields,
    )
    return body


def refunds_and_emails(fake: FakeShopifyAdmin, desk: Desk, order_id: int) -> tuple[Counter[str], int]:
    with desk.db.unit_of_work(read_only=True) as uow:
        sent = sum(1 for a in uow.outbox.for_order(SHOP, order_id) if a.kind == "email")
    refunds = Counter(
        str(e.amount) for e in fake.effects if e.kind == "refundCreate" and e.order_id == order_id
    )
    return refunds, sent


def cases_of(desk: Desk, order_id: int) -> list[tuple[str, str, str]]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(c.id, c.kind, c.queue) for c in uow.cases.for_order(SHOP, order_id)]


def test_a_lost_return_request_is_recovered_and_decided_once_and_late_webhooks_and_sweeps_change_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
) -> None:
    # Order a: every webhook arrives but the returns/request (a changed mind on a 19.99 line: refunded by the
    # starter playbook). Order b: its orders/updated for the return is lost too (a size on a 159.99 line: over
    # the cap, a case). Order a also has a return declined in Shopify whose webhooks were all lost: not a request
    # any more, so only its decline is appended (never its request: that could refund it).
    (a, b) = (_order(2), _order(5))  # created, then paid
    at_a, at_b = T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)
    after_a = {**a[-1][1], "updated_at": at_a.isoformat()}  # a return request moves its order's updated_at
    after_b = {**b[-1][1], "updated_at": at_b.isoformat()}
    ret_a = requested(after_a, 9_100_000_001, CHEAP_LINE, "unwanted")
    ret_b = requested(after_b, 9_100_000_011, DEAR_LINE, "size_too_small")
    declined = requested(after_a, 9_100_000_021, DEAR_LINE, "style", status="declined")
    ids = [after_a["id"], after_b["id"]]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, _ = build(tmp_path, "returns", database("returns"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        returned_a = delivery("orders/updated", after_a, "w-a-returned", triggered_at=at_a)
        arrive_created_and_paid(desk, clock, [a, b], (at_a, returned_a))
        # neither returns/request arrived: no refund, no case, the desk holds no return
        assert [s.returns if s else None for s in states(desk, ids).values()] == [{}, {}]
        assert [cases_of(desk, i) for i in ids] == [[], []]
        for order in (after_a, after_b):
            fake.put_order_payload(order)
        for ret, at in ((ret_a, at_a), (ret_b, at_b), (declined, at_a - timedelta(minutes=5))):
            fake.put_return_payload({**ret, "created_at": at.isoformat()})

        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (ids[0], f"return:{ret_a['id']}", "returns/request", "missing"),
            (ids[0], f"return:{declined['id']}:decline", "returns/decline", "missing"),
            (ids[1], "order", "orders/updated", "stale"),  # the order's own delivery first, then its return
            (ids[1], f"return:{ret_b['id']}", "returns/request", "missing"),
        ]
        assert (report.seen, report.orders_read, report.returns_seen) == (2, 2, 3)
        assert (report.missing, report.stale, report.undecided, report.appended) == (3, 1, 0, 4)
        assert report.as_dict()["returns_seen"] == 3
        with desk.db.unit_of_work(read_only=True) as uow:
            appended = [s.delivery for s in uow.deliveries.pending(10)]
        assert [(d.topic, d.webhook_id, d.api_version) for d in appended] == [
            ("returns/request", f"reconcile:return:{ret_a['id']}:2026-03-02T08:40:00.000000Z", RECONCILE),
            ("returns/decline", f"reconcile:return:{declined['id']}:decline:2026-03-02T08:40:00.000000Z", RECONCILE),
            ("orders/updated", f"reconcile:{ids[1]}:2026-03-02T08:50:00.000000Z", RECONCILE),
            ("returns/request", f"reconcile:return:{ret_b['id']}:2026-03-02T08:50:00.000000Z", RECONCILE),
        ]
        early = reconciler.sweep(SHOP, since=T0)  # again before the pipeline ran: stored once
        assert early.ok and (early.appended, early.already_appended) == (0, 4)
        drain(desk)
        # Shopify's refunds/create for the desk's refund of a's request (its order's read lists it too)
        arrive_late(desk, "refunds/create", [(body, at_a) for body in fake.refund_webhooks(ids[0])])

        recovered = states(desk, ids)
        assert {i: s.returns if s else None for i, s in recovered.items()} == {
            ids[0]: {ret_a["id"]: Versioned("requested", at_a), declined["id"]: Versioned("declined", at_a)},
            ids[1]: {ret_b["id"]: Versioned("requested", at_b)},
        }
        # Order a's return is refunded and its customer told; order b's is over the cap: a person decides.
        assert refunds_and_emails(fake, desk, ids[0]) == (Counter({"19.99": 1}), 1)
        [(case_id, kind, queue)] = cases_of(desk, ids[1])
        assert queue == "refunds"
        decided = [decisions_on(desk, i) for i in ids]
        for ret, found in zip((ret_a, ret_b), decided, strict=True):
            on_return = sorted(p for key, p in found if key == f"return.requested:{ret['id']}")
            assert on_return == ["disputes", "refunds", "wrong_item"]  # each playbook that listens, once

        # The real webhooks, retried by Shopify after the sweep: the same events, decided already.
        arrive_late(desk, "returns/request", [(ret_a, at_a), (ret_b, at_b)])
        assert states(desk, ids) == recovered
        assert [decisions_on(desk, i) for i in ids] == decided
        assert refunds_and_emails(fake, desk, ids[0]) == (Counter({"19.99": 1}), 1)
        assert cases_of(desk, ids[1]) == [(case_id, kind, queue)]

        again = reconciler.sweep(SHOP, since=T0)  # the same window again: the returns read, none appended
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []
        assert (again.seen, again.orders_read, again.returns_seen) == (2, 2, 3)
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0


def test_an_order_with_more_returns_and_lines_than_one_query_reads_has_them_all_read_by_cursor(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
) -> None:
    # Four requested returns (the whole-order query reads three), the last of seven lines (it reads five):
    # none of their webhooks arrived, nor the order's.
    order = {**_order(2)[-1][1], "updated_at": (T0 + timedelta(minutes=40)).isoformat()}
    returns = [requested(order, 9_200_000_001 + 10 * n, CHEAP_LINE, "unwanted") for n in range(4)]
    lines = [
        {**returns[-1]["return_line_items"][0], "id": 9_300_000_000 + n, "quantity": 1} for n in range(7)
    ]
    returns[-1]["return_line_items"] = lines
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 + timedelta(hours=1))
        desk, _ = build(tmp_path, "many", database("many"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None
        fake.put_order_payload(order)
        for n, ret in enumerate(returns):
            fake.put_return_payload({**ret, "created_at": (T0 + timedelta(minutes=30 + n)).isoformat()})

        report = reconciler.sweep(SHOP, since=T0)
        assert report.ok, report.error
        assert [f["resource"] for f in report.found] == ["order"] + [f"return:{r['id']}" for r in returns]
        assert (report.returns_seen, report.appended) == (4, 5)
        assert [c.operation for c in fake.calls][:4] == ["orders", "order", "order", "return"]  # by cursor
        assert all(c.cost <= 1000 and c.status == 200 for c in fake.calls)
        with desk.db.unit_of_work(read_only=True) as uow:
            bodies = [json.loads(s.delivery.body) for s in uow.deliveries.pending(10)]
        assert [len(b.get("return_line_items", ())) for b in bodies[1:]] == [1, 1, 1, 7]
        assert [line["id"] for line in bodies[-1]["return_line_items"]] == [line["id"] for line in lines]
        drain(desk)
        assert sorted(states(desk, [order["id"]])[order["id"]].returns) == [r["id"] for r in returns]  # type: ignore[union-attr]
