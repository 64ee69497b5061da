"""The readiness controls over a shop's stock, pages, support access, fraud review, packaging and pickups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opsdesk.domain.access import Role, User
from opsdesk.domain.readiness import Offender, PolicyReview, Probe, Status
from opsdesk.domain.records import ApiToken, RawDelivery
from opsdesk.testing import InMemoryDatabase, replace
from tests.contract.test_readiness_repository import SHOP
from tests.unit.readiness_measures import NOW, fulfilment, measure, playbook, settings, write


def test_inventory_synced_needs_a_recent_level_per_shop_and_no_negative_level() -> None:
    db = InMemoryDatabase()
    assert measure(db, "inventory-synced").offending == (
        Offender("shop", SHOP, "no inventory level received (inventory_levels/update)"),
    )
    def levels(uow: Any) -> None:
        uow.inventory.record_item(SHOP, 1, "MUG-1", True)
        uow.inventory.record_level(SHOP, 1, 7, -2, NOW - timedelta(minutes=30))
        uow.inventory.record_level(SHOP, 2, 7, 4, NOW - timedelta(minutes=20))
    write(db, levels)
    result = measure(db, "inventory-synced")
    assert (result.status, result.reason) == (
        Status.FAIL, "0 of 1 shops with inventory levels under 15 min old; 1 levels below zero (allowed: 0)"
    )
    assert result.offending == (Offender("shop", SHOP, "last inventory level 20 min old"),
                                Offender("inventory_level", f"{SHOP}/1@7", "MUG-1: available -2"))
    write(db, lambda uow: uow.inventory.record_level(SHOP, 1, 7, 3, NOW - timedelta(minutes=5)))
    assert measure(db, "inventory-synced").status is Status.PASS


def test_shop_pages_need_a_configured_url_and_a_recent_probe_that_answered() -> None:
    db = InMemoryDatabase()
    assert measure(db, "returns-policy-accessible").offending == (
        Offender("shop", SHOP, "no returns_policy_url configured"),
    )
    urls = settings(shops=[{"domain": SHOP, "returns_policy_url": "https://x/r", "storefront_url": "https://x/"}])
    assert measure(db, "site-speed-monitored", urls).offending == (
        Offender("shop", SHOP, "https://x/ not probed in 24 h"),
    )
    write(db, lambda uow: uow.readiness.add_probe(Probe("returns_policy", SHOP, "https://x/r", NOW, 404, 12)))
    write(db, lambda uow: uow.readiness.add_probe(Probe("storefront", SHOP, "https://x/", NOW - timedelta(hours=2),
                                                        200, 340)))
    assert measure(db, "returns-policy-accessible", urls).offending == (
        Offender("shop", SHOP, "https://x/r answered 404"),
    )
    result = measure(db, "site-speed-monitored", urls)
    assert (result.status, result.measured["probes"][SHOP]["elapsed_ms"]) == (Status.PASS, 340)
    write(db, lambda uow: uow.readiness.add_probe(Probe("returns_policy", SHOP, "https://x/r", NOW, 200, 12)))
    assert measure(db, "returns-policy-accessible", urls).status is Status.PASS


def test_support_access_lists_people_without_a_token_that_reads_orders() -> None:
    db = InMemoryDatabase()
    write(db, lambda uow: uow.tokens.add(ApiToken("t1", "alice", "agent", "d1", NOW)))
    write(db, lambda uow: uow.tokens.add(ApiToken("t2", "bob", "agent", "d2", NOW, revoked=True)))
    result = measure(db, "support-can-read-orders")
    assert (result.status, result.offending) == (
        Status.FAIL, (Offender("person", "bob", "no API token or account with a role that reads orders"),)
    )
    write(db, lambda uow: uow.tokens.add(ApiToken("t3", "bob", "viewer", "d3", NOW)))
    assert measure(db, "support-can-read-orders").status is Status.PASS


def test_a_dashboard_account_of_the_person_gives_access_unless_disabled() -> None:
    db = InMemoryDatabase()
    write(db, lambda uow: uow.tokens.add(ApiToken("t1", "alice", "agent", "d1", NOW)))
    account = User("bob.r", "Bob", "hash", {SHOP: Role.AGENT}, NOW, person_id="bob", disabled=True)
    write(db, lambda uow: uow.users.add(account))
    assert [o.id for o in measure(db, "support-can-read-orders").offending] == ["bob"]
    write(db, lambda uow: uow.users.update(replace(account, disabled=False)))
    assert measure(db, "support-can-read-orders").status is Status.PASS


def test_fraud_rules_need_a_review_of_the_risk_playbook_within_a_week() -> None:
    db = InMemoryDatabase()
    assert measure(db, "fraud-rules-reviewed").reason == (
        "no playbook named 'risk' is loaded, so there are no fraud rules to review"
    )
    books = (playbook(), playbook("risk"))
    assert measure(db, "fraud-rules-reviewed", playbooks=books).reason == "playbook 'risk' has never been reviewed"
    write(db, lambda uow: uow.readiness.add_review(PolicyReview("risk", "old", "carol", NOW - timedelta(days=8))))
    assert measure(db, "fraud-rules-reviewed", playbooks=books).status is Status.FAIL
    write(db, lambda uow: uow.readiness.add_review(PolicyReview("risk", "risk-v1", "dan", NOW - timedelta(days=2))))
    result = measure(db, "fraud-rules-reviewed", playbooks=books)
    assert (result.status, result.reason) == (
        Status.PASS, "playbook 'risk' last reviewed by dan 2.0 days ago (allowed: 7)"
    )


def test_packaging_days_of_cover_from_daily_usage_or_order_volume() -> None:
    db = InMemoryDatabase()
    assert measure(db, "packaging-stocked").status is Status.FAIL
    write(db, lambda uow: uow.deliveries.add([
        RawDelivery(SHOP, f"o{i}", "orders/create", b"{}", NOW - timedelta(days=1)) for i in range(60)
    ]))  # 60 orders in 30 days: 2 a day
    stock = settings(readiness={"packaging": {"box": {"stock": 50, "per_order": 1},
                                              "tape": {"stock": 100, "daily_usage": 1}}})
    result = measure(db, "packaging-stocked", stock)
    assert (result.status, result.measured["days_of_cover"], result.offending) == (
        Status.FAIL, {"box": 25.0, "tape": 100.0}, (Offender("material", "box", "25 days of cover"),)
    )
    more = settings(readiness={"packaging": {"box": {"stock": 60, "per_order": 1}}})
    assert measure(db, "packaging-stocked", more).status is Status.PASS


def test_pickups_need_a_schedule_for_every_location_and_carrier_in_use() -> None:
    db = InMemoryDatabase()
    write(db, lambda uow: uow.deliveries.add([fulfilment("11", "UPS", None), fulfilment("12", "DHL", 42)]))
    result = measure(db, "pickup-times-documented")
    assert [o.id for o in result.offending] == ["-/UPS", "42/DHL"]
    pickups = {"pickups": {"mon": ["16:00"]}}
    configured = settings(warehouses={
        "main": {"lead": "carol", "default": True, "carriers": {"UPS": pickups}},
        "east": {"lead": "carol", "location_id": 42, "carriers": {"DHL": {}}},  # no pickup times
    })
    result = measure(db, "pickup-times-documented", configured)
    assert (result.status, [o.id for o in result.offending]) == (Status.FAIL, ["42/DHL"])
    configured = settings(warehouses={
        "main": {"lead": "carol", "default": True, "carriers": {"UPS": pickups}},
        "east": {"lead": "carol", "location_id": 42, "carriers": {"DHL": pickups}},
    })
    assert measure(db, "pickup-times-documented", configured).status is Status.PASS
