"""The inventory repository's promises, on memory, SQLite and PostgreSQL alike (written, then read back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdesk.domain.inventory import StockLevel
from opsdesk.ports import Database
from tests.contract.transactions import read, write

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP, OTHER = "alpha.myshopify.com", "beta.myshopify.com"
ITEM = 271_878_346_596_884_015  # beyond float precision: ids must stay exact


def test_a_level_is_kept_only_when_newer_than_the_one_stored(any_db: Database) -> None:
    assert write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, 5, T0)) is True
    assert (
        write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, -3, T0 - timedelta(seconds=1)))
        is False
    )
    assert write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, 5, T0)) is False  # a duplicate
    assert (
        write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, -2, T0 + timedelta(minutes=1)))
        is True
    )
    write(any_db, lambda u: u.inventory.record_item(SHOP, ITEM, "MUG", True))
    levels = read(any_db, lambda u: u.inventory.levels(SHOP, ["MUG", "OTHER"]))
    assert [(x.inventory_item_id, x.location_id, x.available, x.sku) for x in levels["MUG"]] == [
        (ITEM, 1, -2, "MUG")
    ]
    assert levels["MUG"][0].updated_at == T0 + timedelta(minutes=1)
    assert read(any_db, lambda u: u.inventory.levels(OTHER, ["MUG"])) == {}


def test_levels_of_untracked_items_and_of_unknown_skus_are_not_stock(any_db: Database) -> None:
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, 4, T0))
    assert read(any_db, lambda u: u.inventory.levels(SHOP, ["MUG"])) == {}  # no SKU known for the item yet
    write(any_db, lambda u: u.inventory.record_item(SHOP, ITEM, "MUG", False))
    assert read(any_db, lambda u: u.inventory.levels(SHOP, ["MUG"])) == {}
    assert read(any_db, lambda u: u.inventory.sku_of(SHOP, ITEM)) == "MUG"
    assert read(any_db, lambda u: u.inventory.sku_of(SHOP, ITEM + 1)) is None


def test_open_orders_by_sku_newest_first_and_forgotten_once_closed(any_db: Database) -> None:
    for n in range(3):
        write(
            any_db,
            lambda u, n=n: u.inventory.track_order(
                SHOP, 100 + n, ["MUG", "CUP"], True, T0 + timedelta(minutes=n)
            ),
        )
    write(any_db, lambda u: u.inventory.track_order(SHOP, 101, ["MUG"], False, T0))  # fulfilled or cancelled
    write(any_db, lambda u: u.inventory.track_order(SHOP, 102, ["CUP"], True, T0 + timedelta(minutes=2)))
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "MUG")) == [100]
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "CUP")) == [102, 100]
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "CUP", limit=1)) == [102]
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "CUP", placed_after=T0)) == [102]
    assert read(any_db, lambda u: u.inventory.open_orders(OTHER, "CUP")) == []


def test_freshness_is_the_newest_level_and_the_levels_below_zero(any_db: Database) -> None:
    assert read(any_db, lambda u: u.inventory.freshness(SHOP)) == (None, [])
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, -1, T0))
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 2, 7, T0 + timedelta(minutes=5)))
    write(any_db, lambda u: u.inventory.record_level(SHOP, 5, 1, -4, T0 - timedelta(hours=1)))
    write(any_db, lambda u: u.inventory.record_level(OTHER, 5, 1, -9, T0 + timedelta(hours=1)))
    write(any_db, lambda u: u.inventory.record_item(SHOP, ITEM, "MUG", True))
    newest, negative = read(any_db, lambda u: u.inventory.freshness(SHOP))
    assert newest == T0 + timedelta(minutes=5)
    assert [(x.inventory_item_id, x.available, x.sku) for x in negative] == [(5, -4, ""), (ITEM, -1, "MUG")]


def test_stock_reads_the_items_of_skus_and_ids_with_every_level_of_them(any_db: Database) -> None:
    write(any_db, lambda u: u.inventory.record_item(SHOP, ITEM, "MUG", True))
    write(any_db, lambda u: u.inventory.record_item(SHOP, 7, "CUP", False))
    write(any_db, lambda u: u.inventory.record_item(SHOP, 8, "PLATE", True))
    write(any_db, lambda u: u.inventory.record_item(OTHER, 9, "MUG", True))
    for item_id, location in ((ITEM, 1), (ITEM, 2), (7, 1), (8, 1), (9, 1), (10, 1)):
        write(any_db, lambda u, i=item_id, loc=location: u.inventory.record_level(SHOP, i, loc, loc * 3, T0))

    items, levels = read(any_db, lambda u: u.inventory.stock(SHOP, ["MUG", "NONE"], [7, 10]))
    assert items == {ITEM: ("MUG", True), 7: ("CUP", False)}  # item 10 has a level but no SKU known
    assert sorted((x.inventory_item_id, x.location_id, x.available, x.updated_at) for x in levels) == [
        (7, 1, 3, T0), (10, 1, 3, T0), (ITEM, 1, 3, T0), (ITEM, 2, 6, T0)
    ]
    assert read(any_db, lambda u: u.inventory.stock(SHOP, ["PLATE"], [])) == (
        {8: ("PLATE", True)}, [StockLevel(SHOP, 8, 1, 3, T0, in_stock_at=T0)]
    )
    assert read(any_db, lambda u: u.inventory.stock(SHOP, [], [])) == ({}, [])
    assert read(any_db, lambda u: u.inventory.stock(OTHER, [], [ITEM])) == ({}, [])


def test_put_levels_keeps_each_level_only_over_an_older_one(any_db: Database) -> None:
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, 5, T0))
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 2, 5, T0))
    write(any_db, lambda u: u.inventory.record_item(SHOP, ITEM, "MUG", True))
    later = T0 + timedelta(minutes=1)
    write(any_db, lambda u: u.inventory.put_levels([
        StockLevel(SHOP, ITEM, 1, -1, later),  # newer: kept
        StockLevel(SHOP, ITEM, 2, -7, T0 - timedelta(minutes=1)),  # older than the stored one: not kept
        StockLevel(SHOP, ITEM, 3, 2, T0),  # new location
        StockLevel(SHOP, ITEM, 3, 4, later),  # the same key twice: the newer one wins
    ]))
    levels = read(any_db, lambda u: u.inventory.levels(SHOP, ["MUG"]))["MUG"]
    assert sorted((x.location_id, x.available, x.updated_at) for x in levels) == [
        (1, -1, later), (2, 5, T0), (3, 4, later)
    ]
    write(any_db, lambda u: u.inventory.put_levels([]))


def test_a_level_keeps_when_its_item_was_last_in_stock(any_db: Database) -> None:
    """A level at zero or above was in stock when heard; a fall below zero keeps that time, however far it falls;
    the next level at zero or above moves it on (the orders placed since are the oversold ones)."""
    times = [T0 + timedelta(minutes=n) for n in range(4)]

    def stored() -> tuple[int | None, object]:
        level = read(any_db, lambda u: u.inventory.stock(SHOP, [], [ITEM]))[1][0]
        return level.available, level.in_stock_at

    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, 0, times[0]))
    assert stored() == (0, times[0])
    write(any_db, lambda u: u.inventory.record_level(SHOP, ITEM, 1, -1, times[1]))
    assert stored() == (-1, times[0])
    write(any_db, lambda u: u.inventory.put_levels([StockLevel(SHOP, ITEM, 1, -2, times[2])]))
    assert stored() == (-2, times[0])
    write(any_db, lambda u: u.inventory.put_levels([StockLevel(SHOP, ITEM, 1, 3, times[3])]))
    assert stored() == (3, times[3])


def test_track_orders_replaces_the_skus_each_order_holds(any_db: Database) -> None:
    write(any_db, lambda u: u.inventory.track_order(SHOP, 100, ["MUG", "CUP"], True, T0))
    write(any_db, lambda u: u.inventory.track_order(SHOP, 101, ["MUG"], True, T0 + timedelta(minutes=1)))
    write(any_db, lambda u: u.inventory.track_orders({
        (SHOP, 100): (["CUP"], T0),  # no longer holds MUG
        (SHOP, 101): ([], T0),  # closed
        (SHOP, 102): (["MUG", "MUG"], T0 + timedelta(minutes=2)),
        (OTHER, 100): (["MUG"], T0),
    }))
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "MUG")) == [102]
    assert read(any_db, lambda u: u.inventory.open_orders(SHOP, "CUP")) == [100]
    assert read(any_db, lambda u: u.inventory.open_orders(OTHER, "MUG")) == [100]
    write(any_db, lambda u: u.inventory.track_orders({}))
