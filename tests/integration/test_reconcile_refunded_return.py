"""A refund made in Shopify admin whose webhook was lost, recovered by the reconciliation sweep with its lines, keeps
the desk from refunding the return it refunded (ADR 0041): whether the sweep recovers the request too, or the
request's webhook arrives after the sweep; and so does the desk's own refund, which the stand-in's order reads list
with its lines, as Shopify's do. Over real HTTP, the fake Admin API, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.refunds import RefundFor
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    arrive_late,
    build,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    drain,
    states,
)
from tests.integration.test_reconcile_returns import CHEAP_LINE, requested
from tests.integration.test_refunded_return_tax import usd
from tests.samples import SHOP, delivery, sample


def refunded_in_admin(order: dict[str, Any], refund_id: int, line_id: int, at: Any) -> dict[str, Any]:
    """Shopify's ``refunds/create`` sample cut to one of ``order``'s lines, refunded by a person in Shopify admin
    (not from a return: ``return`` null), the money through one refund transaction."""
    refund = sample("refunds/create")
    [line] = [item for item in refund["refund_line_items"] if item["line_item"]["id"] == line_id]
    subtotal = line["subtotal_set"]["shop_money"]["amount"]
    [transaction] = refund["transactions"][:1]
    refund.update(
        id=refund_id,
        admin_graphql_api_id=f"gid://shopify/Refund/{refund_id}",
        order_id=order["id"],
        created_at=at.isoformat(),
        processed_at=at.isoformat(),
        refund_line_items=[{**line, "line_item_id": line_id}],
        transactions=[{**transaction, "order_id": order["id"], "amount": subtotal}],
    )
    refund["return"] = None
    return refund


def refunds_made(fake: FakeShopifyAdmin, order_id: int) -> list[Decimal | None]:
    return [e.amount for e in fake.effects if e.kind == "refundCreate" and e.order_id == order_id]


def test_a_refund_recovered_by_the_sweep_keeps_the_desk_from_refunding_its_return_again(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
) -> None:
    # Both orders: a changed mind on the 19.99 line, refunded by a person in Shopify admin, the return left open.
    # Order a: the desk was down, the refund's and the request's webhooks were lost: the sweep recovers both.
    # Order b: the refund's webhook was lost; the request's arrives after the sweep (Shopify's retry).
    (a, b) = (_order(2), _order(5))
    at_a, at_b = T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)
    after_a = {**a[-1][1], "financial_status": "partially_refunded", "updated_at": at_a.isoformat()}
    after_b = {**b[-1][1], "financial_status": "partially_refunded", "updated_at": at_b.isoformat()}
    refund_a = refunded_in_admin(after_a, 7_400_000_001, CHEAP_LINE, at_a)
    refund_b = refunded_in_admin(after_b, 7_400_000_002, CHEAP_LINE, at_b)
    ret_a = requested(after_a, 9_200_000_001, CHEAP_LINE, "unwanted")
    ret_b = requested(after_b, 9_200_000_011, CHEAP_LINE, "unwanted")
    ids = [after_a["id"], after_b["id"]]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "refunded", database("refunded"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        updated_b = delivery("orders/updated", after_b, "w-b-refunded", triggered_at=at_b)
        arrive_created_and_paid(desk, clock, [a, b], (at_b, updated_b))
        for order, refund in ((after_a, refund_a), (after_b, refund_b)):
            fake.put_order_payload({**order, "refunds": [refund]})
        fake.put_return_payload({**ret_a, "created_at": (at_a - timedelta(minutes=10)).isoformat()})

        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"]) for f in report.found] == [
            (ids[0], "order", "orders/updated"),
            (ids[0], f"refund:{refund_a['id']}", "refunds/create"),
            (ids[0], f"return:{ret_a['id']}", "returns/request"),
            (ids[1], f"refund:{refund_b['id']}", "refunds/create"),
        ]
        drain(desk)
        arrive_late(desk, "returns/request", [(ret_b, at_b - timedelta(minutes=10))])

        assert [refunds_made(fake, i) for i in ids] == [[], []]
        recovered = states(desk, ids)
        cheap_line_refunded = RefundFor(None, ((CHEAP_LINE, 1),), Decimal("19.99"), Decimal("19.99"), Decimal(0))
        assert {i: s.refunded_for if s else None for i, s in recovered.items()} == {
            # its line's worth (subtotal) and its money read back by the sweep too (ADR 0041, amended)
            ids[0]: {refund_a["id"]: cheap_line_refunded},
            ids[1]: {refund_b["id"]: cheap_line_refunded},
        }
        assert [m for m in smtp.sent if "refund" in str(m.payload.get("template", ""))] == []
        with desk.db.unit_of_work(read_only=True) as uow:
            decided = [
                sorted(
                    (d.playbook, d.rule_id)
                    for d in uow.decisions.for_order(SHOP, i)
                    if d.event_name == "return.requested"
                )
                for i in ids
            ]
        listening = [("disputes", "superseded"), ("refunds", "superseded"), ("wrong_item", "superseded")]
        assert decided == [listening, listening]


def test_the_desks_own_refund_whose_webhook_was_lost_is_read_back_by_the_sweep_with_its_units(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
) -> None:
    versions = _order(2)  # created, then paid
    order = versions[-1][1]
    first = requested(order, 9_200_000_001, CHEAP_LINE, "unwanted")
    again = requested(order, 9_200_000_011, CHEAP_LINE, "unwanted")  # the same unit, asked for once more
    clock = ManualClock(T0 - timedelta(minutes=1))
    with FakeShopifyAdmin(access_tokens=[TOKEN], clock=clock) as fake:
        desk, _ = build(tmp_path, "ours", database("ours"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        arrive_created_and_paid(desk, clock, [versions])
        fake.put_order_payload(order)  # as Shopify holds it: no refund yet
        clock.set(T0 + timedelta(minutes=30))
        arrive_late(desk, "returns/request", [(first, clock.now())])  # decided and sent: the desk refunds the unit
        assert refunds_made(fake, order["id"]) == [Decimal("19.99")]
        [ours] = fake.refund_webhooks(order["id"])  # its refunds/create never came

        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["resource"], f["topic"]) for f in report.found if f["order_id"] == order["id"]] == [
            (f"refund:{ours['id']}", "refunds/create"),
        ]
        drain(desk)
        [state] = states(desk, [order["id"]]).values()
        assert state is not None and state.refunded_for == {
            ours["id"]: RefundFor(None, ((CHEAP_LINE, 1),), Decimal("19.99"), Decimal("19.99"), Decimal(0))
        }
        arrive_late(desk, "returns/request", [(again, clock.now())])

        assert refunds_made(fake, order["id"]) == [Decimal("19.99")]  # not a second time
        with desk.db.unit_of_work(read_only=True) as uow:
            decided = sorted(
                (d.playbook, d.rule_id)
                for d in uow.decisions.for_order(SHOP, order["id"])
                if d.event_name == "return.requested" and d.rule_id == "superseded"
            )
        assert decided == [("disputes", "superseded"), ("refunds", "superseded"), ("wrong_item", "superseded")]


SHIPPING_LINES = [{"id": 1, "shipping_line_id": 2, "subtotal_amount_set": usd("4.99"), "tax_amount_set": usd("0.00")}]
SHIPPING_ADJUSTMENTS = [{"id": 3, "kind": "shipping_refund", "reason": "Shipping refund", "amount": "-4.99",
                         "amount_set": usd("-4.99"), "tax_amount": "0.00", "tax_amount_set": usd("0.00")}]


@pytest.mark.parametrize(("money", "paid"), [
    ({"amount": "19.99"}, "19.99"),  # the price without its tax
    # its price and tax, 21.59 in all, with 4.99 of shipping in it (ADR 0055): 16.60 for the unit
    ({"amount": "21.59", "refund_shipping_lines": SHIPPING_LINES}, "16.60"),
    ({"amount": "21.59", "refund_shipping_lines": [], "order_adjustments": SHIPPING_ADJUSTMENTS}, "16.60"),  # < 2024-10
], ids=["price without tax", "shipping lines", "shipping adjustment"])
def test_a_refund_short_of_a_units_worth_recovered_by_the_sweep_sends_the_late_request_to_a_person(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
    money: dict[str, Any],
    paid: str,
) -> None:
    # A person refunded the 19.99 line taxed 1.60 short: its price alone, or its price and tax with shipping in the
    # same money; the refund's webhook was lost, the request's arrives after the sweep: the sweep reads the line's
    # tax (totalTaxSet) and the refund's shipping (refundShippingLines), the unit was paid short.
    versions = _order(5)
    at = T0 + timedelta(minutes=50)
    after = {**versions[-1][1], "financial_status": "partially_refunded", "updated_at": at.isoformat()}
    refund = refunded_in_admin(after, 7_400_000_002, CHEAP_LINE, at)
    refund["refund_line_items"][0].update(total_tax=1.6, total_tax_set=usd("1.60"))
    refund.update({key: value for key, value in money.items() if key != "amount"})
    refund["transactions"][0]["amount"] = money["amount"]
    clock = ManualClock(T0 - timedelta(minutes=1))
    with FakeShopifyAdmin(access_tokens=[TOKEN], clock=clock) as fake:
        desk, _ = build(tmp_path, "taxed", database("taxed"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        updated = delivery("orders/updated", after, "w-taxed", triggered_at=at)
        arrive_created_and_paid(desk, clock, [versions], (at, updated))
        fake.put_order_payload({**after, "refunds": [refund]})
        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert all(call.cost <= 1000 for call in fake.calls)
        drain(desk)
        arrive_late(desk, "returns/request", [(requested(after, 9_200_000_011, CHEAP_LINE, "unwanted"), at)])

        assert refunds_made(fake, after["id"]) == []
        [state] = states(desk, [after["id"]]).values()
        assert state is not None and state.refunded_for == {
            refund["id"]: RefundFor(None, ((CHEAP_LINE, 1),), Decimal(paid), Decimal("21.59"), Decimal("1.60"))
        }
        with desk.db.unit_of_work(read_only=True) as uow:
            decided = sorted(
                (d.playbook, d.rule_id) for d in uow.decisions.for_order(SHOP, after["id"])
                if d.event_name == "return.requested"
            )
            [case] = uow.cases.for_order(SHOP, after["id"])
        assert ("refunds", "refund-request-needs-a-person") in decided
        assert ("refunds", "superseded") not in decided
        assert f"refund {refund['id']} gave {paid} for lines worth 21.59" in case.reason
