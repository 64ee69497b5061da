"""What the desk could see of an incident: harm over before it looks, and harm through its own failed calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from opsdesk.domain.cases import Case
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import OutboxAction
from opsdesk.normalise.orders import snapshot
from opsdesk.simulator.scorecard import _failed_calls, _incident, _over_before
from opsdesk.simulator.truth import Affected, IncidentTruth, Truth, load_truth
from opsdesk.testing import InMemoryDatabase
from tests.samples import sample

SHOP = "demo-store.myshopify.com"
T0 = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
CHECK = timedelta(minutes=30)


def stall(*paid_after: timedelta | None) -> IncidentTruth:
    """A stall on one order a minute, each paid ``paid_after`` it was placed (None: never, it was cancelled)."""
    placed = [T0 + timedelta(minutes=n) for n in range(len(paid_after))]
    incident = IncidentTruth(
        "payment_gateway_stall", T0, T0 + CHECK, {}, [Affected(at, n, Decimal(10)) for n, at in enumerate(placed)]
    )
    incident.cleared = {n: at + after for n, (at, after) in enumerate(zip(placed, paid_after, strict=True)) if after}
    return incident


def test_a_stall_is_over_before_the_desk_looked_only_when_every_order_was_paid_sooner() -> None:
    assert _over_before(stall(timedelta(minutes=29), timedelta(minutes=14)), CHECK) is True
    assert _over_before(stall(timedelta(minutes=29), CHECK), CHECK) is False  # pending when the check came
    assert _over_before(stall(timedelta(minutes=5), None), CHECK) is False  # never paid: the desk could see it
    assert _over_before(stall(), CHECK) is False  # nothing harmed is another line ("no order harmed")


def test_when_the_stalled_orders_were_paid_is_kept_in_the_truth_file(tmp_path: Path) -> None:
    truth = Truth("t", 1, SHOP, T0, T0 + timedelta(days=1), T0 + timedelta(days=2))
    truth.incidents = [stall(timedelta(minutes=29), None)]
    truth.save(tmp_path / "truth.json")
    [back] = load_truth(tmp_path / "truth.json").incidents
    assert back.cleared == {0: T0 + timedelta(minutes=29)}
    assert back.lasted(0, T0) == timedelta(minutes=29) and back.lasted(1, T0) is None


def action(order_id: int, provider: str, *failed_at: datetime) -> OutboxAction:
    history = tuple({"at": at.isoformat(), "attempt": n, "outcome": "retry", "error": "503"} for n, at in
                    enumerate(failed_at, 1))
    return OutboxAction(f"a{order_id}{provider}", "d", SHOP, order_id, "verify_address", provider, {}, f"k{order_id}",
                        T0, T0, ActionStatus.FAILED, len(failed_at), "503", history)


def test_only_calls_to_the_incidents_provider_failing_in_its_window_harm_an_order() -> None:
    outage = IncidentTruth("label_api_outage", T0, T0 + timedelta(hours=3), {})
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.outbox.add_many([
            action(1, "carrier", T0 - timedelta(minutes=5), T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)),
            action(2, "carrier", T0 + timedelta(hours=3)),  # failed once the outage was over
            action(3, "shopify", T0 + timedelta(minutes=5)),  # not the carrier
            action(4, "carrier", T0 + timedelta(minutes=7)),  # an order no case is about
        ])
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert _failed_calls(uow, SHOP, outage, [1, 2, 3]) == {1: T0 + timedelta(minutes=5)}
        overselling = IncidentTruth("overselling", T0, T0 + timedelta(hours=3), {})
        assert _failed_calls(uow, SHOP, overselling, [1, 2, 3]) == {}


def order(order_id: int, total: str) -> OrderState:
    payload = sample("orders/create") | {"id": order_id, "total_price": total}
    return OrderState(SHOP, payload["id"], snapshot(payload, T0))


def test_an_order_harmed_only_by_a_failed_call_puts_its_value_at_risk_from_that_call() -> None:
    """It put nothing at risk (0.00) while the other kinds count an order held up at its total."""
    returned = Affected(T0 + timedelta(minutes=40), 9, Decimal("30.00"))  # a return the store injected
    outage = IncidentTruth("label_api_outage", T0, T0 + timedelta(hours=3), {}, [returned])
    truth = Truth("t", 1, SHOP, T0 - timedelta(hours=14), T0 + timedelta(hours=10), T0 + timedelta(days=2))
    truth.incidents = [outage]
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.orders.put_many([order(1, "123.45"), order(2, "20.00")])
        uow.commit()
    caught = Case("c-1", SHOP, "automation_failure", "automation", "t", "r", T0 + timedelta(minutes=20), order_id=1)
    failed = {1: T0 + timedelta(minutes=5), 2: T0 + timedelta(hours=1)}  # order 2's call failed after the catch
    with db.unit_of_work(read_only=True) as uow:
        line = _incident(uow, truth, outage, [caught], failed)
    assert (line["affected_orders"], line["money_at_risk_total"], line["money_at_risk_when_caught"]) == (
        3, "173.45", "123.45")
    assert outage.affected == [returned]  # the truth itself is left as the store recorded it


def test_an_order_whose_create_never_reached_the_desk_puts_the_truths_total_at_risk() -> None:
    """Order 1's ``orders/create`` never arrived (lost in an outage, not recovered when the incident was caught): the
    desk holds no snapshot of it and the card put 0.00 at risk for it. Order 2's last update never arrived either:
    the desk holds its older total. The store's truth knows what each order was worth."""
    outage = IncidentTruth("label_api_outage", T0, T0 + timedelta(hours=3), {})
    truth = Truth("t", 1, SHOP, T0 - timedelta(hours=14), T0 + timedelta(hours=10), T0 + timedelta(days=2))
    truth.incidents, truth.totals = [outage], {1: Decimal("123.45"), 2: Decimal("25.00")}
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.orders.put_many([order(2, "20.00")])
        uow.commit()
    caught = Case("c-1", SHOP, "automation_failure", "automation", "t", "r", T0 + timedelta(minutes=20), order_id=1)
    failed = {1: T0 + timedelta(minutes=5), 2: T0 + timedelta(minutes=6)}
    with db.unit_of_work(read_only=True) as uow:
        line = _incident(uow, truth, outage, [caught], failed)
    assert (line["affected_orders"], line["money_at_risk_total"], line["money_at_risk_when_caught"]) == (
        2, "148.45", "148.45")


def test_each_orders_total_is_kept_in_the_truth_file(tmp_path: Path) -> None:
    truth = Truth("t", 1, SHOP, T0, T0 + timedelta(days=1), T0 + timedelta(days=2))
    truth.totals = {5_000_000_000_000_000_001: Decimal("43.79"), 7: Decimal("0.00")}
    truth.save(tmp_path / "truth.json")
    assert load_truth(tmp_path / "truth.json").totals == truth.totals
