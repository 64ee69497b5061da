"""What the scorecard counts as catching an incident: records about a harmed order, after the harm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.cases import Case
from opsdesk.domain.records import DecisionRecord
from opsdesk.simulator.scorecard import _incident
from opsdesk.simulator.truth import Affected, IncidentTruth, Truth
from opsdesk.testing import InMemoryDatabase

SHOP = "demo-store.myshopify.com"
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def truth_with(incident: IncidentTruth) -> Truth:
    truth = Truth("t", 1, SHOP, T0 - timedelta(hours=9), T0 + timedelta(hours=15), T0 + timedelta(days=2))
    truth.incidents = [incident]
    return truth


def case(order_id: int | None, at: datetime, kind: str = "inventory", queue: str = "inventory") -> Case:
    return Case(f"c-{order_id}-{at:%H%M}", SHOP, kind, queue, "t", "r", at, order_id=order_id)


def decision(order_id: int, at: datetime, playbook: str) -> DecisionRecord:
    return DecisionRecord(
        f"d-{order_id}-{playbook}",
        SHOP,
        None,
        order_id,
        "order.created",
        f"k{order_id}",
        playbook,
        "rule",
        "v1",
        "automate",
        "why",
        {},
        at,
    )


def overselling() -> IncidentTruth:
    return IncidentTruth(
        "overselling",
        T0,
        T0 + timedelta(hours=4),
        {},
        [
            Affected(T0 + timedelta(minutes=30), 1, Decimal("10")),
            Affected(T0 + timedelta(minutes=90), 2, Decimal("25")),
        ],
    )


def test_the_first_record_after_the_harm_catches_it_with_the_money_at_risk_then() -> None:
    cases = [
        case(1, T0 + timedelta(minutes=10)),  # before order 1 was harmed: an older story
        case(3, T0 + timedelta(minutes=40)),  # an order the incident never touched
        case(2, T0 + timedelta(minutes=100)),  # the catch
        case(1, T0 + timedelta(minutes=120)),
    ]
    with InMemoryDatabase().unit_of_work(read_only=True) as uow:
        found = _incident(uow, truth_with(overselling()), overselling(), cases)
    assert found["caught"] is True
    assert found["time_to_detect_seconds"] == 100 * 60
    assert found["money_at_risk_when_caught"] == "35"
    assert found["money_at_risk_total"] == "35"
    assert found["signals"] == 2 and found["affected_orders"] == 2
    assert found["caught_by"] == "inventory case in inventory (c-2-1540)"


def test_a_shop_level_record_counts_only_for_incidents_detected_shop_wide() -> None:
    incident = overselling()
    shop_wide = [case(None, T0 + timedelta(minutes=5))]
    with InMemoryDatabase().unit_of_work(read_only=True) as uow:
        assert _incident(uow, truth_with(incident), incident, shop_wide)["time_to_detect_seconds"] == 300
    stall = IncidentTruth(
        "payment_gateway_stall", T0, T0 + timedelta(hours=1), {}, [Affected(T0, 1, Decimal("10"))]
    )
    with InMemoryDatabase().unit_of_work(read_only=True) as uow:
        assert (
            _incident(uow, truth_with(stall), stall, [case(None, T0, "payment", "payments")])["caught"]
            is False
        )


def test_a_decision_counts_only_from_a_playbook_meant_for_the_incident() -> None:
    stall = IncidentTruth(
        "payment_gateway_stall",
        T0,
        T0 + timedelta(hours=1),
        {},
        [Affected(T0 + timedelta(minutes=1), 7, Decimal("80"))],
    )
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.decisions.add_many(
            [
                decision(7, T0 + timedelta(minutes=20), "refunds"),
                decision(7, T0 + timedelta(minutes=45), "payments"),
            ]
        )
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        found = _incident(uow, truth_with(stall), stall, [])
    assert found["time_to_detect_seconds"] == 45 * 60
    assert found["caught_by"].startswith("payments automate: rule")


def test_an_incident_nothing_matches_is_not_caught() -> None:
    with InMemoryDatabase().unit_of_work(read_only=True) as uow:
        found = _incident(uow, truth_with(overselling()), overselling(), [case(1, T0, "refund", "refunds")])
    assert found == {
        **found,
        "caught": False,
        "detected_at": None,
        "time_to_detect_seconds": None,
        "money_at_risk_when_caught": None,
        "caught_by": None,
        "signals": 0,
    }
