"""The other discount detectors on a virtual clock: a leaked code, and an incident after one has ended (a
discount rate far above its baseline, the preflight and the cost floor: ``test_discount_pricing_detectors``).
Shopify's sample payloads, a real SQLite file, the fake Admin API over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.cases import act
from opsdesk.services.discount_incidents import list_incidents
from tests.integration.discount_detector_shop import LEAK, LEAK_GUARD, LINES, START
from tests.integration.discount_pickup_harness import discount_payload, fake_admin, order_payload, scenario

__all__ = ["fake_admin"]


def test_a_leaked_code_used_by_many_new_accounts_is_paused_and_priced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    fake_admin.store.add_discount(
        LEAK,
        title="Friends 25",
        percentage=0.25,
        all_items=True,
        ends_at="2026-06-30T00:00:00Z",
        usage_limit=500,
        codes=("FRIENDS25",),
    )
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard=LEAK_GUARD)
    run.deliver("discounts/create", discount_payload(LEAK, "Friends 25", START), START)
    run.run_until(START + timedelta(minutes=1))
    placed = []
    for n in range(20):  # the code leaks: 20 uses in 10 minutes, by accounts made minutes before
        at = run.clock.now()
        code_active = fake_admin.store.discount(LEAK)["discount"]["status"] == "ACTIVE"  # type: ignore[index]
        payload = order_payload(
            n,
            at,
            LINES,
            discount=Decimal("10.00") if code_active else Decimal(0),
            code="FRIENDS25" if code_active else None,
            customer_since=at - timedelta(minutes=3),
        )
        placed.append(payload)
        run.deliver("orders/create", payload, at + timedelta(seconds=2))
        run.run_until(at + timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        [incident] = list_incidents(uow)
        [case] = uow.cases.search(CaseFilter(queue="pricing"))
    used = [p for p in placed if p["discount_codes"]]
    assert len(used) == 8  # the eighth new account trips the detector; the pause stops the rest
    assert [e.target for e in fake_admin.effects] == [LEAK] and incident.paused_at is not None
    assert (incident.kind, incident.discount_gid, incident.violations) == (
        "code_abuse",
        LEAK,
        ("code_abuse",),
    )
    assert incident.money_at_risk == sum(Decimal(p["total_discounts"]) for p in used) == Decimal("80.00")
    assert incident.time_to_pause is not None and incident.time_to_pause <= timedelta(minutes=5)
    assert (case.kind, case.owner, case.due_at) == ("discount", "paula", case.opened_at + timedelta(hours=1))
    assert "8 of 8 uses in one window by accounts created just before" in case.reason


def test_an_everyday_code_used_often_at_its_usual_share_is_no_spike_but_a_new_code_used_as_often_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    busy = {"window_minutes": 5, "min_baseline_windows": 4, "code_max_uses": 5, "rate_mads": 2}
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard=busy)
    for n in range(100):  # a busy shop: 20 orders in every 5-minute window
        window, i = divmod(n, 20)
        # The shop's everyday code on 40 % or 60 % of the orders (8 or 12 uses a window, more than 5: in
        # the first four no spike for want of a baseline, then none at the code's usual share)...
        code = "SAVE10" if i % 5 in ({0, 2} if window % 2 == 0 else {0, 1, 3}) else None
        if window == 4 and i % 5 in {2, 4}:
            code = "VIRAL"  # ... and in the fifth window a code nobody used before, 8 times
        at = START + timedelta(seconds=15 * n)
        discount = Decimal("4.00") if code else Decimal(0)
        run.deliver("orders/create", order_payload(n, at, LINES, discount=discount, code=code), at)
    run.run_until(START + timedelta(minutes=25), step=timedelta(seconds=15))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        incidents = list_incidents(uow)
        [case] = uow.cases.search(CaseFilter(queue="pricing"))
    assert [(i.kind, i.title) for i in incidents] == [("code_abuse", "VIRAL")]
    assert "used 6 times in one window (more than 5)" in case.reason


def test_a_discount_that_goes_wrong_again_after_its_case_is_resolved_is_a_new_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    gid = "gid://shopify/DiscountAutomaticNode/8801"
    fake_admin.store.add_discount(
        gid, title="Flash 70", percentage=0.7, all_items=True, ends_at="2026-04-01T00:00:00Z"
    )
    run = scenario(tmp_path, monkeypatch, fake_admin, START)
    run.deliver("discounts/create", discount_payload(gid, "Flash 70", START), START)
    run.run_until(START + timedelta(seconds=30))
    with run.desk.db.unit_of_work() as uow:
        [first] = list_incidents(uow)
        act(
            uow,
            str(first.case_id),
            "resolve",
            "paula",
            run.clock.now(),
            run.desk.case_hooks,
            resolution="no_action",
            note="typo in the percentage; fixed tomorrow",
        )
        uow.commit()
    # Someone switches it on again unchanged: a new incident, a new pause, a new case.
    fake_admin.store.add_discount(
        gid, title="Flash 70", percentage=0.7, all_items=True, ends_at="2026-04-01T00:00:00Z"
    )
    again = START + timedelta(minutes=5)
    run.deliver("discounts/update", discount_payload(gid, "Flash 70", again), again)
    run.run_until(again + timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        incidents = list_incidents(uow)
        cases = uow.cases.search(CaseFilter(queue="pricing", active_only=False), limit=10)
    assert [i.id for i in incidents] == [first.id, f"{first.id}-1"]
    assert [i.paused_at for i in incidents] == [START, again]
    assert len([e for e in fake_admin.effects if e.target == gid]) == 2
    assert sorted(c.status.value for c in cases) == ["assigned", "resolved"]


def test_an_order_of_a_finished_incident_updated_later_does_not_open_a_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    # A discount no webhook names: its bad orders are known by its title only, so nothing can pause it.
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard={"max_percentage": 50})
    first = order_payload(1, START, LINES, discount=Decimal("30.00"), automatic="Mystery")
    run.deliver("orders/create", first, START)
    run.run_until(START + timedelta(minutes=1))
    with run.desk.db.unit_of_work() as uow:
        [incident] = list_incidents(uow)
        act(uow, str(incident.case_id), "resolve", "paula", run.clock.now(), run.desk.case_hooks,
            resolution="no_action", note="ended the campaign by hand")
        uow.commit()
    # The same order ships (orders/updated, same discount): it was counted, and its incident is over.
    shipped = {**first, "updated_at": (START + timedelta(hours=2)).isoformat(), "fulfillment_status": "fulfilled"}
    run.deliver("orders/updated", shipped, START + timedelta(hours=2))
    run.run_until(START + timedelta(hours=2, minutes=1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        assert [(i.id, i.bad_orders) for i in list_incidents(uow)] == [(incident.id, incident.bad_orders)]
    # A new bad order is a new incident, with only its own money at risk.
    later = START + timedelta(hours=3)
    run.deliver("orders/create", order_payload(2, later, LINES, discount=Decimal("30.00"), automatic="Mystery"), later)
    run.run_until(later + timedelta(minutes=1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        again = list_incidents(uow)
    assert [i.id for i in again] == [incident.id, f"{incident.id}-1"]
    assert again[1].bad_orders == (7_100_000_002,) and again[1].money_at_risk == incident.money_at_risk


def test_a_leaked_code_of_a_discount_made_before_opsdesk_is_paused_by_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    # The discount predates the desk: no discounts/* webhook ever names it, only the orders' code does.
    fake_admin.store.add_discount(
        LEAK, title="Friends 25", percentage=0.25, all_items=True, usage_limit=500, codes=("FRIENDS25",)
    )
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard=LEAK_GUARD)
    used = 0
    for n in range(20):
        at = run.clock.now()
        active = fake_admin.store.discount(LEAK)["discount"]["status"] == "ACTIVE"  # type: ignore[index]
        used += active
        payload = order_payload(
            n,
            at,
            LINES,
            discount=Decimal("10.00") if active else Decimal(0),
            code="friends25" if active else None,  # redeemed in any letter case
            customer_since=at - timedelta(minutes=3),
        )
        run.deliver("orders/create", payload, at + timedelta(seconds=2))
        run.run_until(at + timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        [incident] = list_incidents(uow)
        [case] = uow.cases.search(CaseFilter(queue="pricing"))
    assert used == 8 and incident.discount_gid == ""  # still not known by its id
    assert [(e.kind, e.target) for e in fake_admin.effects] == [("discountCodeDeactivate", LEAK)]
    assert incident.paused_at is not None and incident.time_to_pause is not None
    assert case.detail["code"] == "friends25" and "paused by its code friends25" in case.reason


def test_a_discount_case_known_only_by_a_code_is_paused_by_a_person_without_an_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    gid = "gid://shopify/DiscountCodeNode/7702"
    fake_admin.store.add_discount(gid, title="Clear 40", percentage=0.4, all_items=True, codes=("CLEAR40",))
    run = scenario(
        tmp_path, monkeypatch, fake_admin, START, discount_guard={"max_percentage": 50, "costs": {"TEE-BLK-M": "30.00"}}
    )
    payload = order_payload(1, START, LINES, discount=Decimal("16.00"), code="CLEAR40")
    run.deliver("orders/create", payload, START)
    run.run_until(START + timedelta(minutes=1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        [incident] = list_incidents(uow)
    assert incident.pause_action_id is None and fake_admin.effects == []  # below its cost floor: a person decides

    with run.desk.db.unit_of_work() as uow:
        act(uow, str(incident.case_id), "claim", "paula", run.clock.now(), run.desk.case_hooks)
        act(uow, str(incident.case_id), "resolve", "paula", run.clock.now(), run.desk.case_hooks,
            resolution="pause_discount", note="sold below cost")
        uow.commit()
    run.run_until(START + timedelta(minutes=2))

    assert [(e.kind, e.target) for e in fake_admin.effects] == [("discountCodeDeactivate", gid)]
    assert fake_admin.store.discount(gid)["discount"]["status"] == "EXPIRED"  # type: ignore[index]
