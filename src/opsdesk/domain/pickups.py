"""Carrier pickup schedules: when the truck comes, and by when an order must be packed to be on it.

A warehouse (a Shopify location) has, per carrier, pickup times by weekday in the warehouse's time zone,
days without pickups (holidays) and dated exceptions that replace a day's times. An order placed at
``t`` goes with the first pickup ``p`` whose cut-off ``p - handling`` is not before ``t``: that is the
same-day promise ("packed before the next pickup minus handling time"). Its ship-by time is that
cut-off, so it is never after the pickup and never before the order.

Local times are placed on the UTC timeline through the IANA zone: a time the wall clock shows twice
(autumn) means its first occurrence; a time it skips (spring) means the same wall time on the old
offset, i.e. just after the jump. Everything comes out timezone-aware in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsdesk.domain.errors import InvalidInput

#: How far ahead a schedule is searched for the next pickup before giving up (no pickups at all).
HORIZON_DAYS = 400


@dataclass(frozen=True, slots=True)
class PickupSchedule:
    """One carrier's pickups at one warehouse, in the warehouse's local time."""

    carrier: str
    timezone: str
    #: Weekday (0 = Monday) -> the local times the carrier picks up that day.
    weekly: Mapping[int, tuple[time, ...]]
    #: Local dates without any pickup (public holidays, closures).
    holidays: frozenset[date] = frozenset()
    #: Local dates whose pickups differ from the weekly ones (an empty tuple: no pickup that day).
    exceptions: Mapping[date, tuple[time, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone(self.timezone)
        for day in self.weekly:
            if not 0 <= day <= 6:
                raise InvalidInput(f"carrier {self.carrier}: weekday {day} is not 0 (Monday) to 6 (Sunday)")

    @property
    def documented(self) -> bool:
        """Whether the schedule says when the carrier comes at all (a readiness control reads this)."""
        return any(self.weekly.values()) or any(self.exceptions.values())


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A Shopify location that ships: who leads it, how long packing takes, which carriers collect."""

    id: str
    name: str
    timezone: str
    lead: str
    handling: timedelta
    carriers: tuple[PickupSchedule, ...]
    location_id: int | None = None
    default: bool = False
    #: Orders with any of these tags carry a same-day promise; empty: every order does.
    promise_tags: frozenset[str] = frozenset()
    warn_before: tuple[timedelta, ...] = (timedelta(minutes=60), timedelta(minutes=15))
    queue: str = "warehouse"

    def carrier(self, name: str | None) -> PickupSchedule | None:
        """The named carrier's schedule, else the warehouse's first carrier."""
        found = next((c for c in self.carriers if c.carrier == name), None)
        return found or (self.carriers[0] if self.carriers else None)

    def promises(self, tags: Sequence[str]) -> bool:
        return not self.promise_tags or bool(self.promise_tags.intersection(tags))


@dataclass(frozen=True, slots=True)
class ShipBy:
    """The pickup an order must make, and the time it must be packed by (the cut-off)."""

    carrier: str
    pickup_at: datetime
    ship_by: datetime


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise InvalidInput(f"unknown time zone {name!r}") from None


def pickups_on(schedule: PickupSchedule, day: date) -> list[datetime]:
    """The pickups of one local date, in UTC and in order (none on a holiday without an exception)."""
    if day in schedule.exceptions:  # a dated exception is more specific than a holiday
        times = schedule.exceptions[day]
    elif day in schedule.holidays:
        return []
    else:
        times = schedule.weekly.get(day.weekday(), ())
    tz = zone(schedule.timezone)
    return sorted({datetime.combine(day, at, tzinfo=tz).astimezone(UTC) for at in times})


def next_pickup(
    schedule: PickupSchedule, after: datetime, handling: timedelta = timedelta(0)
) -> datetime | None:
    """The first pickup whose cut-off (pickup minus ``handling``) is at or after ``after``; None if none."""
    _aware(after)
    earliest = after + handling
    day = earliest.astimezone(zone(schedule.timezone)).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS):
        for pickup in pickups_on(schedule, day + timedelta(days=offset)):
            if pickup >= earliest:
                return pickup
    return None


def ship_by(warehouse: Warehouse, carrier: str | None, ordered_at: datetime) -> ShipBy | None:
    """The pickup an order placed at ``ordered_at`` goes with, and its packing deadline."""
    schedule = warehouse.carrier(carrier)
    if schedule is None:
        return None
    pickup = next_pickup(schedule, ordered_at, warehouse.handling)
    if pickup is None:
        return None
    return ShipBy(schedule.carrier, pickup, pickup - warehouse.handling)


def after_missed(warehouse: Warehouse, missed: ShipBy) -> ShipBy | None:
    """The next chance for an order that missed ``missed``: the following pickup of the same carrier."""
    schedule = warehouse.carrier(missed.carrier)
    if schedule is None:
        return None
    pickup = next_pickup(schedule, missed.pickup_at + timedelta(microseconds=1))
    return None if pickup is None else ShipBy(schedule.carrier, pickup, pickup - warehouse.handling)


def warnings(warehouse: Warehouse, plan: ShipBy, now: datetime) -> list[tuple[timedelta, datetime]]:
    """The at-risk warnings still ahead of ``now``: (how long before the pickup, when)."""
    return [
        (before, plan.pickup_at - before)
        for before in warehouse.warn_before
        if plan.pickup_at - before >= now
    ]


def find_warehouse(warehouses: Sequence[Warehouse], location_id: int | None) -> Warehouse | None:
    """The warehouse of a Shopify location, else the default warehouse (or the only one)."""
    if location_id is not None:
        found = next((w for w in warehouses if w.location_id == location_id), None)
        if found is not None:
            return found
    return next((w for w in warehouses if w.default), warehouses[0] if len(warehouses) == 1 else None)


def _aware(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("naive datetime: pickups need timezone-aware times")


@dataclass(frozen=True, slots=True)
class MissedPickup:
    """An order that was not packed when its carrier came."""

    shop: str
    order_id: int
    warehouse: str
    carrier: str
    pickup_at: datetime
    ship_by: datetime
    recorded_at: datetime
