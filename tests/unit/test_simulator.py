"""The store simulator: scenarios, calibration, and deliveries shaped and delivered the way Shopify does."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.events import ShopDomain
from opsdesk.domain.records import RawDelivery
from opsdesk.normalise.shopify import HANDLED_TOPICS, normalise
from opsdesk.services.intake import lower_headers, verify
from opsdesk.simulator.calibration import load_calibration, quantile
from opsdesk.simulator.scenario import Incident, Scenario, load_scenario, read_scenario
from opsdesk.simulator.store import Store
from opsdesk.yamldoc import parse

SECRET = "sim-secret"
START = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def small(seed: int = 3, **changes: object) -> Scenario:
    base = Scenario(
        name="small",
        seed=seed,
        start=START,
        history=timedelta(days=2),
        follow=timedelta(days=1),
        orders_per_day=60,
        products=20,
        incidents=(
            Incident(
                "discount_misconfigured",
                timedelta(hours=9),
                timedelta(hours=6),
                {"code": "OOPS", "percent": 90.0, "intended_percent": 10.0, "uptake": 0.5},
            ),
            Incident("payment_gateway_stall", timedelta(hours=12), timedelta(hours=2), {"share": 1.0}),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_same_seed_gives_the_same_deliveries_and_another_seed_others() -> None:
    first, again, other = Store(small(), SECRET), Store(small(), SECRET), Store(small(seed=4), SECRET)
    a = [(d.at, d.headers, d.body) for d in first]
    b = [(d.at, d.headers, d.body) for d in again]
    assert a == b
    assert first.truth.as_dict() == again.truth.as_dict()
    list(other)
    assert other.truth.digest != first.truth.digest


def test_every_delivery_is_signed_and_reads_as_shopify_payloads() -> None:
    store = Store(small(), SECRET)
    now = START
    topics: Counter[str] = Counter()
    for d in store:
        stored = verify(
            lower_headers(d.headers),
            d.body,
            secrets_for=lambda _shop: (SECRET,),
            is_known=lambda _shop: True,
            max_bytes=2_000_000,
            now=now,
        )
        assert isinstance(stored, RawDelivery), stored
        topics[d.topic] += 1
        if d.topic in HANDLED_TOPICS:
            normalise(d.topic, ShopDomain(store.s.shop), orjson.loads(d.body), stored.triggered_at)
    assert {
        "orders/create",
        "orders/paid",
        "fulfillments/create",
        "fulfillment_events/create",
        "inventory_levels/update",
        "order_transactions/create",
        "discounts/create",
    } <= set(topics)


def test_deliveries_come_twice_and_out_of_order_as_shopify_delivers_them() -> None:
    store = Store(small(duplicate_share=0.05, reorder_share=0.1), SECRET)
    ids: Counter[str] = Counter()
    overtaken = 0
    latest = START - timedelta(days=30)
    for d in store:
        ids[d.headers["X-Shopify-Webhook-Id"]] += 1
        triggered = datetime.fromisoformat(d.headers["X-Shopify-Triggered-At"].replace("Z", "+00:00"))
        assert triggered <= d.at
        overtaken += triggered < latest - timedelta(seconds=10)
        latest = max(latest, triggered)
    assert sum(1 for n in ids.values() if n > 1) == store.truth.duplicates > 0
    assert overtaken > 0


def test_incidents_leave_their_ground_truth() -> None:
    store = Store(small(), SECRET)
    list(store)
    discount, stall = store.truth.incidents
    assert discount.kind == "discount_misconfigured" and discount.affected
    assert all(discount.start <= a.at < discount.end for a in discount.affected)
    assert discount.at_risk(discount.start) == 0 < discount.at_risk(discount.end)
    assert stall.orders and stall.orders <= set(store.truth.needs_person)


def test_the_truth_knows_every_orders_total_as_its_orders_create_said_it() -> None:
    """The discount incident changes its orders' totals when their lives are scheduled: the truth keeps those."""
    store = Store(small(), SECRET)
    created = {
        (payload := orjson.loads(d.body))["id"]: Decimal(payload["total_price"])
        for d in store
        if d.topic == "orders/create"
    }
    assert len(store.truth.totals) == store.truth.orders and created.items() <= store.truth.totals.items()
    assert {a.order_id: a.amount for a in store.truth.incidents[1].affected} == {
        order_id: store.truth.totals[order_id] for order_id in store.truth.incidents[1].orders
    }


def test_every_order_assessed_at_high_risk_needs_a_person_even_when_the_customer_cancels_it_later() -> None:
    store = Store(small(incidents=(), cancel_share=0.5, orders_per_day=300), SECRET)
    high, cancelled = set(), set()
    for d in store:
        topic, body = d.headers["X-Shopify-Topic"], orjson.loads(d.body)
        if topic == "orders/risk_assessment_changed" and body["risk_level"] == "high":
            high.add(body["order_id"])
        elif topic == "orders/cancelled":
            cancelled.add(body["id"])
    assert high & cancelled  # assessed while live, cancelled hours later: the desk reviews it meanwhile
    assert all(store.truth.needs_person.get(order) == "high fraud risk" for order in high)


def test_calibration_reproduces_the_late_share_and_the_daily_rhythm() -> None:
    cal = load_calibration()
    rng = random.Random(5)
    draws = [cal.lifecycle(rng) for _ in range(40_000)]
    late = sum(1 for d in draws if d.approval_h + d.handover_h + d.transit_h > d.promise_h) / len(draws)
    assert late == pytest.approx(0.064, abs=0.005)
    hours = Counter(cal.hour(rng) for _ in range(40_000))
    assert hours[14] > 8 * hours[4]  # afternoons are busy, the small hours quiet
    assert quantile((1.0, 3.0), 0.5) == 2.0


def test_the_scored_day_counts_its_weekday_and_day_factor() -> None:
    plain = Store(small(history=timedelta(0)), SECRET)
    busy = Store(small(history=timedelta(0), day_factor=4.0), SECRET)
    assert len(busy._arrivals) == pytest.approx(4 * len(plain._arrivals), rel=0.05)


def test_a_scenario_with_problems_names_each_with_file_line_and_column() -> None:
    text = (
        "name: broken\n"
        "duration: 1x\n"
        "store:\n"
        "  orders_per_day: -3\n"
        "  colour: blue\n"
        "incidents:\n"
        "  - {kind: meteor, at: '10:00'}\n"
        "  - {kind: overselling, at: '11:00', share: lots}\n"
    )
    with pytest.raises(InvalidInput) as caught:
        read_scenario(parse(text, "broken.yaml"))
    message = str(caught.value)
    assert "broken.yaml:2:11: expected a duration" in message
    assert "broken.yaml:4:19: expected a positive integer, got -3" in message
    assert "broken.yaml:5:3: unknown key 'colour'" in message
    assert "broken.yaml:7:12: unknown incident kind 'meteor'" in message
    assert "broken.yaml:8:45: expected float, got 'lots'" in message
    lines = [tuple(int(n) for n in line.split(":")[1:3]) for line in message.splitlines()[1:]]
    assert lines == sorted(lines) and len(lines) == 5  # in the order of the file


@pytest.mark.parametrize("name", ["demo", "normal-day", "black-friday", "carrier-meltdown"])
def test_the_shipped_scenarios_load(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    if name == "demo":
        from opsdesk.simulator.incidents import INCIDENT_KINDS

        assert {i.kind for i in scenario.incidents} == set(INCIDENT_KINDS)
