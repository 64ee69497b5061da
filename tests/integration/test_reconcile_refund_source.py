"""A refund recovered by the reconciliation sweep counts as its webhook does (ADR 0061): it is tied to the return it
was made from (``Refund.return``), and its duties and order adjustments are not its lines' money. Each refund is
played twice, its ``refunds/create`` delivered, then lost and recovered by the sweep; the late request for its return
must find the same units left and get the same decision. Over real HTTP, the fake Admin API, SQLite and PostgreSQL.
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
from tests.integration.test_reconcile_refunded_return import refunded_in_admin, refunds_made
from tests.integration.test_reconcile_returns import CHEAP_LINE, requested
from tests.integration.test_refunded_return_tax import usd
from tests.samples import SHOP, delivery

RETURN = 9_200_000_011
REFUND = 7_400_000_002
#: Every playbook listening to a return's request records it superseded (ADR 0041).
SUPERSEDED = [("disputes", "superseded"), ("refunds", "superseded"), ("wrong_item", "superseded")]


def from_the_return(refund: dict[str, Any]) -> None:
    """Made from the return's page for its money alone (no line named): what ADR 0041 left the sweep blind to."""
    refund.update(refund_line_items=[])
    refund["return"] = {"id": RETURN, "admin_graphql_api_id": f"gid://shopify/Return/{RETURN}"}


def from_the_return_with_its_line(refund: dict[str, Any]) -> None:
    """Made from the return's page, its line named and paid short (19.99 of 21.59): the return decides."""
    refund["refund_line_items"][0].update(total_tax=1.6, total_tax_set=usd("1.60"))
    refund["return"] = {"id": RETURN, "admin_graphql_api_id": f"gid://shopify/Return/{RETURN}"}


def with_a_duty(refund: dict[str, Any]) -> None:
    """Not from a return: the 19.99 line taxed 1.60 paid short, 21.59 moved with a duty of 4.99 in it."""
    refund["refund_line_items"][0].update(total_tax=1.6, total_tax_set=usd("1.60"))
    refund["transactions"][0]["amount"] = "21.59"
    refund.update(duties=[{"duty_id": 1, "amount_set": usd("4.99")}], total_duties_set=usd("4.99"))


def with_a_discrepancy(refund: dict[str, Any]) -> None:
    """Not from a return: 21.59 moved for the line, Shopify's calculation 4.99 off it (an order adjustment)."""
    refund["refund_line_items"][0].update(total_tax=1.6, total_tax_set=usd("1.60"))
    refund["transactions"][0]["amount"] = "21.59"
    refund["order_adjustments"] = [{"id": 3, "kind": "refund_discrepancy", "reason": "Refund discrepancy",
                                    "amount": "-4.99", "amount_set": usd("-4.99"), "tax_amount": "0.00",
                                    "tax_amount_set": usd("0.00")}]


SHORT = f"refund {REFUND} gave 16.60 for lines worth 21.59"
PERSON = [("refunds", "refund-request-needs-a-person")]
CASES = {
    "money from the return": (from_the_return, RefundFor(RETURN), SUPERSEDED, ""),
    "line from the return": (from_the_return_with_its_line,
                             RefundFor(RETURN, ((CHEAP_LINE, 1),), Decimal("19.99"), Decimal("21.59"), Decimal("1.60")),
                             SUPERSEDED, ""),
    "a duty": (with_a_duty, RefundFor(None, ((CHEAP_LINE, 1),), Decimal("16.60"), Decimal("21.59"), Decimal("1.60")),
               PERSON, SHORT),
    "a discrepancy": (with_a_discrepancy,
                      RefundFor(None, ((CHEAP_LINE, 1),), Decimal("16.60"), Decimal("21.59"), Decimal("1.60")),
                      PERSON, SHORT),
}


@pytest.mark.parametrize("webhook", ["delivered", "lost"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_recovered_refund_counts_against_its_return_as_its_webhook_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
    case: str,
    webhook: str,
) -> None:
    made, kept, decided, why = CASES[case]
    versions = _order(5)
    at = T0 + timedelta(minutes=50)
    after = {**versions[-1][1], "financial_status": "partially_refunded", "updated_at": at.isoformat()}
    refund = refunded_in_admin(after, REFUND, CHEAP_LINE, at)
    made(refund)
    clock = ManualClock(T0 - timedelta(minutes=1))
    with FakeShopifyAdmin(access_tokens=[TOKEN], clock=clock) as fake:
        desk, _ = build(tmp_path, "source", database("source"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        updated = delivery("orders/updated", after, "w-updated", triggered_at=at)
        arrive_created_and_paid(desk, clock, [versions], (at, updated))
        if webhook == "delivered":
            arrive_late(desk, "refunds/create", [(refund, at)])
        fake.put_order_payload({**after, "refunds": [refund]})
        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert all(call.cost <= 1000 for call in fake.calls)
        recovered = [f["resource"] for f in report.found if f["topic"] == "refunds/create"]
        assert recovered == ([] if webhook == "delivered" else [f"refund:{REFUND}"])
        drain(desk)
        arrive_late(desk, "returns/request", [(requested(after, RETURN, CHEAP_LINE, "unwanted"), at)])

        assert refunds_made(fake, after["id"]) == []  # never paid twice
        [state] = states(desk, [after["id"]]).values()
        assert state is not None and state.refunded_for == {REFUND: kept}
        with desk.db.unit_of_work(read_only=True) as uow:
            rules = sorted((d.playbook, d.rule_id) for d in uow.decisions.for_order(SHOP, after["id"])
                           if d.event_name == "return.requested")
            reasons = [c.reason for c in uow.cases.for_order(SHOP, after["id"])]
        assert [rule for rule in rules if rule in decided] == decided
        assert ("refunds", "superseded" if why else "refund-request-needs-a-person") not in rules
        assert all(why in reason for reason in reasons) and bool(reasons) == bool(why)
