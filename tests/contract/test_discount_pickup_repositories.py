"""The discount and pickup repositories keep the same contract in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.discount_windows import RateWindow
from opsdesk.domain.discounts import DiscountIncident, DiscountRecord, DiscountTerms
from opsdesk.domain.pickups import MissedPickup
from opsdesk.ports import Database

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SHOP = "a.myshopify.com"


def test_discounts_are_upserted_and_listed_by_shop_and_by_need_of_terms(any_db: Database) -> None:
    terms = DiscountTerms(
        "gid://shopify/DiscountCodeNode/1",
        "Spring",
        "ACTIVE",
        Decimal("0.25"),
        None,
        AT + timedelta(days=3),
        100,
        True,
        True,
        ("SPRING25",),
    )
    heard = DiscountRecord(SHOP, "gid://shopify/DiscountCodeNode/1", "Spring", "ACTIVE", AT)
    other = DiscountRecord("b.myshopify.com", "gid://shopify/DiscountAutomaticNode/2", "B", "ACTIVE", AT)
    with any_db.unit_of_work() as uow:
        uow.discounts.put(heard)
        uow.discounts.put(other)
        uow.commit()
    with any_db.unit_of_work() as uow:
        assert [d.gid for d in uow.discounts.needing_terms(10)] == [other.gid, heard.gid]  # by time, then id
        checked = DiscountRecord(
            SHOP,
            heard.gid,
            "Spring",
            "ACTIVE",
            AT,
            terms,
            False,
            AT + timedelta(seconds=5),
            ("combines_with_other_discounts",),
        )
        uow.discounts.put(checked)
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.discounts.find(SHOP, heard.gid) == checked
        assert uow.discounts.for_shop(SHOP) == [checked]
        assert [d.gid for d in uow.discounts.needing_terms(10)] == [other.gid]
        assert uow.discounts.find(SHOP, "gid://shopify/DiscountCodeNode/9") is None


def test_incidents_keep_exact_money_and_windows_their_counts(any_db: Database) -> None:
    incident = DiscountIncident(
        "disc-1",
        SHOP,
        "gid://shopify/DiscountAutomaticNode/3",
        "Oops",
        "glitch",
        AT,
        "USD",
        AT - timedelta(minutes=1),
        Decimal("60.000"),
        Decimal("1.50"),
        (11, 12),
        ("order_above_max",),
        "action-1",
        "disc-1",
    )
    window = RateWindow(
        SHOP, "code:SPRING25", AT, 3, 2, Decimal("90.00"), Decimal("30.00"), AT + timedelta(seconds=7)
    )
    with any_db.unit_of_work() as uow:
        uow.discounts.put_incident(incident)
        uow.discounts.put_window(window)
        uow.discounts.put_window(RateWindow(SHOP, "", AT, 1, 0, Decimal(1), Decimal(0)))
        uow.commit()
    with any_db.unit_of_work() as uow:
        assert uow.discounts.find_incident("disc-1") == incident
        assert (
            uow.discounts.incidents(SHOP) == [incident] and uow.discounts.incidents("b.myshopify.com") == []
        )
        assert uow.discounts.windows(SHOP, "code:SPRING25", AT) == [window]
        assert uow.discounts.windows(SHOP, "code:SPRING25", AT + timedelta(minutes=1)) == []
        uow.discounts.put_window(window.add(Decimal(10), Decimal(5), False, AT + timedelta(seconds=1)))
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        [grown] = uow.discounts.windows(SHOP, "code:SPRING25", AT)
        assert (grown.orders, grown.revenue, grown.discount, grown.first_at) == (
            4,
            Decimal("100.00"),
            Decimal("35.00"),
            AT + timedelta(seconds=1),
        )


def test_a_missed_pickup_is_recorded_once(any_db: Database) -> None:
    missed = MissedPickup(
        SHOP,
        5_000_000_000_000_000_001,
        "nyc",
        "UPS",
        AT,
        AT - timedelta(minutes=30),
        AT + timedelta(seconds=3),
    )
    with any_db.unit_of_work() as uow:
        assert uow.pickups.record_missed(missed)
        assert not uow.pickups.record_missed(missed)
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.pickups.missed(SHOP) == [missed]
        assert uow.pickups.missed(SHOP, since=AT + timedelta(seconds=1)) == []
        assert uow.pickups.missed("b.myshopify.com") == []


def test_leaving_without_commit_keeps_nothing(any_db: Database) -> None:
    with any_db.unit_of_work() as uow:
        uow.discounts.put(DiscountRecord(SHOP, "gid://shopify/DiscountAutomaticNode/4", "X", "ACTIVE", AT))
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.discounts.for_shop(SHOP) == []


def test_an_items_cost_is_kept_unless_an_older_one_arrives_later(any_db: Database) -> None:
    with any_db.unit_of_work() as uow:
        uow.discounts.put_cost(SHOP, "TEE", Decimal("8.40"), AT)
        uow.discounts.put_cost(SHOP, "TEE", Decimal("7.00"), AT - timedelta(days=1))  # a stale delivery
        uow.discounts.put_cost(SHOP, "MUG", Decimal("3.10"), AT)
        uow.discounts.put_cost("b.myshopify.com", "TEE", Decimal("99"), AT)
        uow.commit()
    with any_db.unit_of_work() as uow:
        assert uow.discounts.costs(SHOP, ["TEE", "MUG", "CAP"]) == {
            "TEE": Decimal("8.40"),
            "MUG": Decimal("3.10"),
        }
        uow.discounts.put_cost(SHOP, "TEE", Decimal("8.90"), AT + timedelta(days=1))
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        assert uow.discounts.costs(SHOP, ["TEE"]) == {"TEE": Decimal("8.90")}


def test_discounts_never_tried_are_read_before_one_whose_read_failed(any_db: Database) -> None:
    failed = DiscountRecord(
        SHOP,
        "gid://shopify/DiscountCodeNode/7",
        "F",
        "ACTIVE",
        AT - timedelta(hours=1),
        checked_at=AT + timedelta(minutes=5),
    )
    first = DiscountRecord(SHOP, "gid://shopify/DiscountCodeNode/8", "A", "ACTIVE", AT)
    second = DiscountRecord(
        SHOP, "gid://shopify/DiscountCodeNode/6", "B", "ACTIVE", AT + timedelta(minutes=1)
    )
    with any_db.unit_of_work() as uow:
        for record in (failed, first, second):
            uow.discounts.put(record)
        uow.commit()
    with any_db.unit_of_work(read_only=True) as uow:
        assert [d.title for d in uow.discounts.needing_terms(10)] == ["A", "B", "F"]
        assert [d.title for d in uow.discounts.needing_terms(2)] == ["A", "B"]
