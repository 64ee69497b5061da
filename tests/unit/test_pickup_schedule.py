"""Pickup schedule arithmetic: the next pickup, the ship-by (cut-off), holidays, exceptions, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.config_discounts_pickups import CarrierPickups, PickupHolidays, WarehouseConfig, build_warehouses
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.pickups import (
    PickupSchedule,
    ShipBy,
    Warehouse,
    after_missed,
    find_warehouse,
    next_pickup,
    pickups_on,
    ship_by,
    warnings,
)

NY = "America/New_York"
WEEKDAYS = {d: (time(11, 0), time(16, 0)) for d in range(5)}
UPS = PickupSchedule(
    "UPS",
    NY,
    WEEKDAYS,
    holidays=frozenset({date(2026, 11, 26)}),
    exceptions={date(2026, 12, 24): (time(12, 0),), date(2026, 12, 23): ()},
)
HOUSE = Warehouse(
    "nyc", "Brooklyn", NY, "wendy", timedelta(minutes=30), (UPS,), location_id=655441491, default=True
)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0, zone: str = NY) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_an_order_before_the_cut_off_makes_the_next_pickup_that_day() -> None:
    plan = ship_by(HOUSE, None, utc(2026, 3, 2, 10, 29))  # Monday, cut-off of the 11:00 pickup is 10:30
    assert plan == ShipBy("UPS", utc(2026, 3, 2, 11), utc(2026, 3, 2, 10, 30))


def test_an_order_after_the_cut_off_goes_with_the_following_pickup() -> None:
    assert ship_by(HOUSE, None, utc(2026, 3, 2, 10, 31)) == ShipBy(
        "UPS", utc(2026, 3, 2, 16), utc(2026, 3, 2, 15, 30)
    )


def test_friday_evening_orders_wait_for_monday_because_there_is_no_weekend_pickup() -> None:
    assert ship_by(HOUSE, None, utc(2026, 3, 6, 18)) == ShipBy(
        "UPS", utc(2026, 3, 9, 11), utc(2026, 3, 9, 10, 30)
    )


def test_no_pickup_on_a_holiday_and_exceptions_replace_or_cancel_a_days_pickups() -> None:
    assert pickups_on(UPS, date(2026, 11, 26)) == []  # Thanksgiving
    assert pickups_on(UPS, date(2026, 12, 23)) == []  # the carrier skips that Wednesday
    assert pickups_on(UPS, date(2026, 12, 24)) == [utc(2026, 12, 24, 12)]  # one early pickup
    assert ship_by(HOUSE, None, utc(2026, 12, 22, 17)) == ShipBy(
        "UPS", utc(2026, 12, 24, 12), utc(2026, 12, 24, 11, 30)
    )


def test_pickup_times_follow_the_wall_clock_across_the_dst_change() -> None:
    # The US moved to summer time on Sunday 2026-03-08: 16:00 is 21:00 UTC before and 20:00 UTC after.
    assert pickups_on(UPS, date(2026, 3, 6)) == [
        datetime(2026, 3, 6, 16, tzinfo=UTC),
        datetime(2026, 3, 6, 21, tzinfo=UTC),
    ]
    assert pickups_on(UPS, date(2026, 3, 9)) == [
        datetime(2026, 3, 9, 15, tzinfo=UTC),
        datetime(2026, 3, 9, 20, tzinfo=UTC),
    ]


def test_a_missed_pickup_moves_the_order_to_the_carriers_next_pickup() -> None:
    missed = ShipBy("UPS", utc(2026, 3, 2, 16), utc(2026, 3, 2, 15, 30))
    assert after_missed(HOUSE, missed) == ShipBy("UPS", utc(2026, 3, 3, 11), utc(2026, 3, 3, 10, 30))


def test_warnings_come_sixty_and_fifteen_minutes_before_the_pickup_and_only_those_still_ahead() -> None:
    plan = ShipBy("UPS", utc(2026, 3, 2, 16), utc(2026, 3, 2, 15, 30))
    assert warnings(HOUSE, plan, utc(2026, 3, 2, 9)) == [
        (timedelta(minutes=60), utc(2026, 3, 2, 15)),
        (timedelta(minutes=15), utc(2026, 3, 2, 15, 45)),
    ]
    assert warnings(HOUSE, plan, utc(2026, 3, 2, 15, 30)) == [
        (timedelta(minutes=15), utc(2026, 3, 2, 15, 45))
    ]


def test_an_order_ships_from_its_location_else_from_the_default_warehouse() -> None:
    other = Warehouse("la", "LA", "America/Los_Angeles", "lee", timedelta(0), (UPS,), location_id=7)
    assert find_warehouse([HOUSE, other], 7) is other
    assert find_warehouse([HOUSE, other], None) is HOUSE
    assert find_warehouse([other], None) is other
    assert find_warehouse([], 7) is None


def test_a_schedule_without_pickups_has_no_next_pickup() -> None:
    assert next_pickup(PickupSchedule("DHL", NY, {}), utc(2026, 3, 2, 9)) is None


def test_configuration_builds_warehouses_with_public_holidays() -> None:
    cfg = WarehouseConfig(
        location_id=1,
        timezone=NY,
        lead="wendy",
        handling_minutes=45,
        carriers={
            "UPS": CarrierPickups(
                pickups={"mon": ["16:00"]}, holidays=PickupHolidays(country="US", subdivision="NY")
            )
        },
    )
    [warehouse] = build_warehouses({"nyc": cfg}, datetime(2026, 6, 1, tzinfo=UTC))
    assert warehouse.handling == timedelta(minutes=45)
    assert date(2026, 9, 7) in warehouse.carriers[0].holidays  # Labor Day, a Monday: no pickup
    assert ship_by(warehouse, "UPS", utc(2026, 9, 4, 12)) == ShipBy(
        "UPS", utc(2026, 9, 14, 16), utc(2026, 9, 14, 15, 15)
    )


ZONES = st.sampled_from([NY, "Europe/London", "Australia/Sydney", "UTC", "Asia/Kolkata"])
TIMES = st.lists(st.times().map(lambda t: t.replace(second=0, microsecond=0)), min_size=0, max_size=3)
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def warehouses(draw: st.DrawFn) -> Warehouse:
    zone = draw(ZONES)
    weekly = {day: tuple(draw(TIMES)) for day in range(7)}
    holidays = frozenset(draw(st.lists(st.dates(date(2025, 1, 1), date(2028, 1, 31)), max_size=20)))
    handling = timedelta(minutes=draw(st.integers(0, 240)))
    return Warehouse("w", "w", zone, "lead", handling, (PickupSchedule("C", zone, weekly, holidays),))


@settings(max_examples=300, deadline=None)
@given(warehouses(), MOMENTS)
def test_ship_by_is_never_after_the_pickup_nor_before_the_order(
    warehouse: Warehouse, ordered: datetime
) -> None:
    plan = ship_by(warehouse, None, ordered)
    if plan is None:
        assert not any(warehouse.carriers[0].weekly.values())
        return
    assert plan.ship_by <= plan.pickup_at
    assert plan.ship_by == plan.pickup_at - warehouse.handling
    assert ordered <= plan.ship_by


@settings(max_examples=300, deadline=None)
@given(warehouses(), MOMENTS)
def test_the_pickup_is_a_scheduled_local_time_and_no_earlier_pickup_could_be_made(
    warehouse: Warehouse, ordered: datetime
) -> None:
    schedule = warehouse.carriers[0]
    plan = ship_by(warehouse, None, ordered)
    if plan is None:
        return
    local = plan.pickup_at.astimezone(ZoneInfo(schedule.timezone))
    day = local.date()
    assert day not in schedule.holidays
    assert plan.pickup_at in pickups_on(schedule, day)
    # Every pickup between the order and this one had its cut-off before the order (DST-correct, in UTC).
    for offset in (-1, 0):
        for earlier in pickups_on(schedule, day + timedelta(days=offset)):
            if earlier < plan.pickup_at:
                assert earlier - warehouse.handling < ordered


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        next_pickup(UPS, datetime(2026, 3, 2, 9))


def test_a_warehouse_lead_must_be_a_person_of_the_desk() -> None:
    cfg = WarehouseConfig(lead="nobody", carriers={"UPS": CarrierPickups(pickups={"mon": ["16:00"]})})
    with pytest.raises(InvalidInput, match=r"warehouses\.nyc\.lead: no person 'nobody'"):
        build_warehouses({"nyc": cfg}, datetime(2026, 6, 1, tzinfo=UTC), people=frozenset({"wendy"}))
