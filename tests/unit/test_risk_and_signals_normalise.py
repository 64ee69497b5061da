"""The order-side playbooks' events from Shopify's samples (risk, inventory items) and from the desk's
own signals; and the rule key ``case`` (act, and open a case for a person)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.events import (
    InventoryItemChanged,
    OrderId,
    OrderOversold,
    PaymentOverdue,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    RiskAssessed,
    ShopDomain,
)
from opsdesk.domain.orders import OrderState, apply
from opsdesk.domain.policies import Escalation, Outcome, decide
from opsdesk.normalise import HANDLED_TOPICS, normalise
from opsdesk.policy import loader
from opsdesk.services.facts import facts_for
from tests.samples import sample

SHOP = ShopDomain("example.myshopify.com")
AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_the_risk_sample_becomes_an_orderless_assessment_until_it_names_its_order() -> None:
    assert normalise(
        "orders/risk_assessment_changed", SHOP, sample("orders/risk_assessment_changed"), AT
    ) == (RiskAssessed(SHOP, AT, None, "medium", "shopify"),)
    named = {
        **sample("orders/risk_assessment_changed"),
        "risk_level": "HIGH",
        "admin_graphql_api_order_id": "gid://shopify/Order/820982911946154508",
        "provider_title": "Signifyd",
    }
    assert normalise("orders/risk_assessment_changed", SHOP, named, AT) == (
        RiskAssessed(SHOP, AT, OrderId(820982911946154508), "high", "Signifyd"),
    )


def test_the_latest_assessment_wins_whatever_order_they_arrive_in() -> None:
    early = RiskAssessed(SHOP, AT, OrderId(1), "high", "shopify")
    late = RiskAssessed(SHOP, AT.replace(hour=15), OrderId(1), "low", "shopify")
    start = OrderState(SHOP, OrderId(1))
    assert apply(apply(start, early).state, late).state.risk_level == "low"
    assert apply(apply(start, late).state, early).state.risk_level == "low"


def test_an_assessment_older_than_the_one_held_is_stale() -> None:
    early = RiskAssessed(SHOP, AT, OrderId(1), "high", "shopify")
    late = RiskAssessed(SHOP, AT.replace(hour=15), OrderId(1), "low", "shopify")
    held = apply(OrderState(SHOP, OrderId(1)), late).state
    assert [apply(held, early).stale, apply(held, late).stale, apply(OrderState(SHOP, OrderId(1)), late).stale] == [
        True,
        True,
        False,
    ]


def test_the_inventory_item_sample_links_its_exact_id_to_its_sku() -> None:
    assert normalise("inventory_items/update", SHOP, sample("inventory_items/update"), None) == (
        InventoryItemChanged(SHOP, datetime(2022, 1, 1, tzinfo=UTC), 271878346596884015, "example-sku", True),
    )


def test_the_desks_own_signals_are_events_but_not_shopify_topics() -> None:
    oversold = {
        "order_id": 7,
        "skus": ["MUG"],
        "available": -2,
        "cause": "stock below zero",
        "at": AT.isoformat(),
    }
    overdue = {
        "order_id": 7,
        "stage": "checked",
        "minutes": 30,
        "checked_status": "PENDING",
        "gateways": ["visa"],
        "at": AT.isoformat(),
    }
    assert normalise("opsdesk/order_oversold", SHOP, orjson.loads(orjson.dumps(oversold)), None) == (
        OrderOversold(SHOP, AT, OrderId(7), ("MUG",), -2, "stock below zero"),
    )
    assert normalise("opsdesk/payment_overdue", SHOP, overdue, None) == (
        PaymentOverdue(SHOP, AT, OrderId(7), "checked", 30, "PENDING", ("visa",)),
    )
    assert not any(topic.startswith("opsdesk/") for topic in HANDLED_TOPICS)


RULE = """\
playbook: inventory
owner: team:ops
rules:
  - id: hold
    when: [order.oversold]
    if: event.available < 0
    then: [{type: hold_fulfillment, reason: INVENTORY_OUT_OF_STOCK}]
    case: {queue: inventory, priority: high, sla: 4 hours}
"""


def test_a_rule_with_case_acts_and_asks_for_a_person_in_one_decision(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(RULE)
    [playbook] = loader.load([tmp_path])
    event = OrderOversold(SHOP, AT, OrderId(7), ("MUG",), -2, "stock below zero")
    decision = decide(playbook, event.name, facts_for(event, None), {}, AT)
    assert decision is not None and decision.outcome is Outcome.AUTOMATE
    assert [a.type for a in decision.actions] == ["hold_fulfillment"]
    assert decision.case == Escalation("inventory", "high", "4 hours")


def test_case_without_actions_is_reported_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        RULE.replace("    then: [{type: hold_fulfillment, reason: INVENTORY_OUT_OF_STOCK}]\n", "")
    )
    _, problems = loader.check([tmp_path])
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'p.yaml'}:7:11: 'case' opens a case alongside 'then' actions; without them use 'escalate'"
    ]


@given(
    st.permutations([("low", 1), ("high", 2), ("medium", 3), ("low", 4)]), st.lists(st.booleans(), max_size=4)
)
def test_the_risk_level_and_damage_claims_do_not_depend_on_delivery_order(
    order_of: list[tuple[str, int]], repeats: list[bool]
) -> None:
    """Assessments and returns folded in any order, some twice, give one state: the latest level wins."""
    events: list[RiskAssessed | ReturnChanged] = [
        RiskAssessed(SHOP, AT.replace(minute=minute), OrderId(1), level, "shopify")
        for level, minute in order_of
    ]
    events += [_return(10, "DEFECTIVE"), _return(11, "UNWANTED")]
    events += [e for e, again in zip(events, repeats, strict=False) if again]
    state = OrderState(SHOP, OrderId(1))
    for event in events:
        state = apply(state, event).state
    assert (state.risk_level, state.damage_claims, state.refunds_frozen) == ("low", frozenset({10}), True)


def _return(return_id: int, reason: str) -> ReturnChanged:
    line = ReturnLine(None, 1, reason, "", None)
    return ReturnChanged(SHOP, AT, ReturnChange.REQUESTED, return_id, OrderId(1), "requested", (line,))
