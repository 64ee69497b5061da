"""Settings of the discount guardrails (``discount_guard:``) and the carrier pickups (``warehouses:``).

Part of ``opsdesk.yaml``, validated with the rest of the file. ``build_warehouses`` and
``build_guard_policy`` turn them into the domain's values (holidays from the ``holidays`` package).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsdesk.calendars import public_holidays
from opsdesk.config_playbooks import Owner, Priority, Queue
from opsdesk.domain.discounts import GuardPolicy, Violation
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.pickups import PickupSchedule, Warehouse
from opsdesk.yamldoc import InvalidField, InvalidFields, gathered

LocalTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Percent = Annotated[Decimal, Field(ge=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PickupHolidays(_Strict):
    country: str
    subdivision: str | None = None


class PickupException(_Strict):
    """One local date whose pickups differ: other times, or none (``times: []``)."""

    date: date
    times: list[LocalTime] = []


class CarrierPickups(_Strict):
    """One carrier's pickups at a warehouse, in the warehouse's time zone."""

    pickups: dict[Day, list[LocalTime]] = {}
    holidays: PickupHolidays | None = None  # public holidays without pickups
    closed: list[date] = []  # other dates without pickups
    exceptions: list[PickupException] = []


class WarehouseConfig(_Strict):
    """A Shopify location that ships; carriers are named as in fulfilments' ``tracking_company``."""

    name: str = ""
    location_id: int | None = None
    timezone: str = "UTC"
    lead: Owner  # the person warned when orders are at risk of missing the pickup
    handling_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 30
    default: bool = False  # orders without a known location ship from here
    promise_tags: list[str] = []  # orders with a same-day promise; empty: every order
    warn_before_minutes: list[Annotated[int, Field(gt=0, le=24 * 60)]] = [60, 15]
    queue: Queue = "warehouse"
    carriers: dict[str, CarrierPickups] = {}


class DiscountGuardConfig(_Strict):
    """The discount guardrails' thresholds; percentages are 0-100."""

    enabled: bool = True
    owner: Owner = "team:ops"  # answers for the guard's pauses and cases
    queue: Queue = "pricing"
    priority: Priority = "high"
    max_percentage: Percent = Decimal(50)
    require_end_date: bool = True
    allow_combining: bool = False
    allow_whole_catalogue: bool = True
    require_usage_limit: bool = True
    pause_on: list[str] = ["above_max_percentage", "order_above_max", "code_abuse"]
    costs: dict[str, Decimal] = {}  # unit cost by SKU: the cost floor of a line
    window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    baseline_windows: Annotated[int, Field(ge=2, le=10_000)] = 96
    min_baseline_windows: Annotated[int, Field(ge=1, le=10_000)] = 8
    rate_min_orders: Annotated[int, Field(ge=1)] = 5
    rate_mads: Annotated[Decimal, Field(gt=0)] = Decimal(5)
    rate_min_increase: Percent = Decimal(10)
    code_max_uses: Annotated[int, Field(ge=1)] = 50
    code_min_new_customers: Annotated[int, Field(ge=1)] = 10
    code_new_share: Percent = Decimal(80)
    new_account_hours: Annotated[float, Field(gt=0)] = 24


def build_guard_policy(cfg: DiscountGuardConfig) -> GuardPolicy:
    known = {v.value: v for v in Violation}
    known_names = ", ".join(sorted(known))
    InvalidFields.refuse([InvalidField(["discount_guard", "pause_on", i], f"unknown {name!r} (known: {known_names})")
                          for i, name in enumerate(cfg.pause_on) if name not in known])
    hundred = Decimal(100)
    return GuardPolicy(
        max_percentage=cfg.max_percentage / hundred,
        require_end_date=cfg.require_end_date,
        allow_combining=cfg.allow_combining,
        allow_whole_catalogue=cfg.allow_whole_catalogue,
        require_usage_limit=cfg.require_usage_limit,
        pause_on=frozenset(known[name] for name in cfg.pause_on),
        costs=dict(cfg.costs),
        window=timedelta(minutes=cfg.window_minutes),
        baseline_windows=cfg.baseline_windows,
        min_baseline_windows=cfg.min_baseline_windows,
        rate_min_orders=cfg.rate_min_orders,
        rate_mads=cfg.rate_mads,
        rate_min_increase=cfg.rate_min_increase / hundred,
        code_max_uses=cfg.code_max_uses,
        code_min_new_customers=cfg.code_min_new_customers,
        code_new_share=cfg.code_new_share / hundred,
        new_account_age=timedelta(hours=cfg.new_account_hours),
    )


def build_warehouses(
    configs: dict[str, WarehouseConfig], now: datetime, people: frozenset[str] = frozenset()
) -> tuple[Warehouse, ...]:
    """The warehouses with their pickup schedules; holidays for the years around ``now``.

    With ``people`` given (the desk's), each warehouse's lead must be one of them. Every problem is raised, not
    only the first (``yamldoc.InvalidFields``).
    """
    years = range(now.year - 1, now.year + 3)
    found = [InvalidField(["warehouses", wid, "lead"], f"no person {cfg.lead!r} under people")
             for wid, cfg in configs.items() if people and cfg.lead not in people]
    warehouses = []
    for wid, cfg in configs.items():
        with gathered(found):
            warehouses.append(_warehouse(wid, cfg, years))
    InvalidFields.refuse(found)
    return tuple(warehouses)


def _warehouse(wid: str, cfg: WarehouseConfig, years: range) -> Warehouse:
    try:
        carriers = tuple(_schedule(name, c, cfg.timezone, years) for name, c in cfg.carriers.items())
        return Warehouse(
            id=wid,
            name=cfg.name or wid,
            timezone=cfg.timezone,
            lead=cfg.lead,
            handling=timedelta(minutes=cfg.handling_minutes),
            carriers=carriers,
            location_id=cfg.location_id,
            default=cfg.default,
            promise_tags=frozenset(cfg.promise_tags),
            warn_before=tuple(
                timedelta(minutes=m) for m in sorted(set(cfg.warn_before_minutes), reverse=True)
            ),
            queue=cfg.queue,
        )
    except InvalidInput as exc:
        raise InvalidField(["warehouses", wid], str(exc)) from exc


def _schedule(carrier: str, cfg: CarrierPickups, timezone: str, years: range) -> PickupSchedule:
    country = cfg.holidays.country if cfg.holidays else None
    subdivision = cfg.holidays.subdivision if cfg.holidays else None
    holidays = public_holidays(country, subdivision, years) | frozenset(cfg.closed)
    return PickupSchedule(
        carrier=carrier,
        timezone=timezone,
        weekly={DAYS.index(day): _times(times) for day, times in cfg.pickups.items()},
        holidays=holidays,
        exceptions={e.date: _times(e.times) for e in cfg.exceptions},
    )


def _times(texts: list[str]) -> tuple[time, ...]:
    return tuple(sorted({time.fromisoformat(t) for t in texts}))
