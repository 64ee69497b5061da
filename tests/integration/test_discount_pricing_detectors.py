"""The pricing detectors on a virtual clock: a discount rate far above its baseline, the preflight on a
discount's terms, and the cost floor. Shopify's sample payloads, a real SQLite file, the fake Admin API over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.discount_incidents import list_incidents
from tests.integration.discount_detector_shop import LINES, START
from tests.integration.discount_pickup_harness import discount_payload, fake_admin, order_payload, scenario
from tests.samples import sample

__all__ = ["fake_admin"]  # the fixture: the fake Admin API


def test_a_discount_rate_far_above_its_baseline_opens_a_pricing_case_without_pausing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    run = scenario(
        tmp_path,
        monkeypatch,
        fake_admin,
        START,
        discount_guard={
            "window_minutes": 5,
            "min_baseline_windows": 6,
            "rate_min_orders": 4,
            "max_percentage": 60,
        },
    )
    for minute in range(60):
        at = run.clock.now()
        heavy = minute >= 45  # a 45%-off sale nobody told finance about: inside the maximum, far above normal
        share = Decimal("0.45") if heavy else Decimal("0.05") if minute % 2 else Decimal("0.10")
        payload = order_payload(
            minute,
            at,
            LINES,
            discount=(Decimal("40.00") * share).quantize(Decimal("0.01")),
            automatic="Spring sale" if heavy else "Loyalty",
        )
        run.deliver("orders/create", payload, at + timedelta(seconds=2))
        run.run_until(at + timedelta(seconds=55), step=timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        incidents = list_incidents(uow)
        cases = uow.cases.search(CaseFilter(queue="pricing"))
    assert [i.kind for i in incidents] == ["rate", "rate", "rate"]  # one per 5-minute window of the sale
    first = incidents[0]
    assert first.first_bad_order_at == START + timedelta(minutes=45) and first.pause_action_id is None
    assert first.money_at_risk > 0 and first.violations == ("rate_anomaly",)
    assert len(cases) == 3 and "against a baseline of" in cases[0].reason and "not paused" in cases[0].reason
    assert fake_admin.effects == []


def test_the_preflight_pauses_a_discount_above_the_maximum_before_any_order_and_flags_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    big = "gid://shopify/DiscountAutomaticNode/6601"
    open_ended = "gid://shopify/DiscountCodeNode/6602"
    fake_admin.store.add_discount(
        big, title="Staff 80", percentage=0.8, all_items=True, ends_at="2026-04-01T00:00:00Z"
    )
    fake_admin.store.add_discount(
        open_ended,
        title="VIP10",
        percentage=0.1,
        all_items=True,
        codes=("VIP10",),
        combines_with=(True, False, False),
    )
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard={"max_percentage": 30})
    run.deliver("discounts/create", discount_payload(big, "Staff 80", START), START)
    run.deliver("discounts/update", discount_payload(open_ended, "VIP10", START), START)
    run.run_until(START + timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        incidents = {i.title: i for i in list_incidents(uow)}
        cases = {c.title: c for c in uow.cases.search(CaseFilter(queue="pricing"))}
    assert incidents["Staff 80"].violations == ("above_max_percentage",)
    assert incidents["Staff 80"].paused_at == START and incidents["Staff 80"].first_bad_order_at is None
    assert set(incidents["VIP10"].violations) == {
        "no_end_date",
        "combines_with_other_discounts",
        "no_usage_limit",
    }
    assert incidents["VIP10"].pause_action_id is None  # the policy pauses only above the maximum
    assert [e.target for e in fake_admin.effects] == [big]
    assert {c.reason.split(";")[1].strip() for c in cases.values()} == {"paused", "not paused (policy)"}


@pytest.mark.parametrize("cost_from", ["configuration", "inventory item"])
def test_a_line_sold_below_its_cost_floor_opens_a_case_but_does_not_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin, cost_from: str
) -> None:
    gid = "gid://shopify/DiscountAutomaticNode/7701"
    fake_admin.store.add_discount(
        gid, title="Clearance", percentage=0.4, all_items=False, ends_at="2026-04-01T00:00:00Z"
    )
    run = scenario(
        tmp_path,
        monkeypatch,
        fake_admin,
        START,
        discount_guard={
            "max_percentage": 50,
            "costs": {"TEE-BLK-M": "30.00"} if cost_from == "configuration" else {},
        },
    )
    if cost_from == "inventory item":  # Shopify's sample inventory_items/update, with the item's cost
        item = sample("inventory_items/update")
        item.update(sku="TEE-BLK-M", cost="30.00", updated_at=START.isoformat())
        run.deliver("inventory_items/update", item, START)
    run.deliver("discounts/create", discount_payload(gid, "Clearance", START), START)
    payload = order_payload(
        1, START + timedelta(minutes=1), LINES, discount=Decimal("16.00"), automatic="Clearance"
    )
    run.deliver("orders/create", payload, START + timedelta(minutes=1))
    run.run_until(START + timedelta(minutes=2))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        [incident] = list_incidents(uow)
    assert incident.violations == ("below_cost_floor",) and incident.below_cost == Decimal("6.00")
    assert incident.money_at_risk == 0 and incident.pause_action_id is None and incident.case_id is not None
