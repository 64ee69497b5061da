"""Scenarios: a YAML file naming the store, its size and speed, the staff, and the incidents to inject.

Every problem is reported with file:line:column, all at once, and a scenario with a problem never runs.
Times inside the day are offsets from the start of the scored day: ``"10:30"`` or ``"10h30m"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from opsdesk.domain.errors import InvalidInput
from opsdesk.simulator.scenario_incidents import Incident, read_incidents
from opsdesk.simulator.scenario_reader import Reader
from opsdesk.simulator.trouble import PATHS, Shares
from opsdesk.yamldoc import Document, load, parse

BUILTIN = ("demo", "normal-day", "black-friday", "carrier-meltdown")
ONE_DAY = timedelta(days=1)
__all__ = ["BUILTIN", "Incident", "Scenario", "Staffing", "load_scenario", "read_scenario"]


@dataclass(frozen=True, slots=True)
class Staffing:
    people: tuple[str, ...] = ()  # empty: every person in opsdesk.yaml
    pace: timedelta = timedelta(minutes=12)  # mean time a person spends on one case
    #: local times of day, each day; an end before the start is the next day's (a night shift, 22:00-06:00)
    shift: tuple[timedelta, timedelta] = (timedelta(hours=8), timedelta(hours=18))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str = ""
    seed: int = 1
    shop: str = "demo-store.myshopify.com"
    start: datetime = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # the scored day's start (shop midnight)
    history: timedelta = timedelta(0)  # orders also arrive this long before the day
    duration: timedelta = ONE_DAY
    follow: timedelta = timedelta(days=2)  # lifecycles are followed this long after the last order
    orders_per_day: int = 1000
    day_factor: float = 1.0  # the scored day's orders against an ordinary day's (Black Friday: ~4)
    products: int = 200
    returns_share: float = 0.08
    disputes_share: float = 0.005
    cancel_share: float | None = None  # None: the calibrated share
    carrier_trouble: Shares = field(default_factory=Shares)  # the parcels' paths (``trouble.py``)
    duplicate_share: float = 0.015
    reorder_share: float = 0.03
    speed: float | None = None  # virtual seconds per real second for --target; None: as fast as possible
    tick: timedelta = timedelta(minutes=1)
    staffing: Staffing = field(default_factory=Staffing)
    incidents: tuple[Incident, ...] = ()
    path: str = ""

    @property
    def first_order_at(self) -> datetime:
        return self.start - self.history

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def horizon(self) -> datetime:
        return self.end + self.follow


_TOP = {
    "name",
    "description",
    "seed",
    "shop",
    "start",
    "history",
    "duration",
    "follow",
    "store",
    "delivery",
    "carrier_trouble",
    "staffing",
    "incidents",
}
_STORE = {"orders_per_day", "day_factor", "products", "returns_share", "disputes_share", "cancel_share"}
_DELIVERY = {"duplicate_share", "reorder_share", "speed", "tick"}
_STAFF = {"people", "pace", "shift"}
_TROUBLE_KEYS = {f.name for f in fields(Shares)}


def load_scenario(path: str | Path) -> Scenario:
    """A scenario file, or one of the built-in scenarios by name (``BUILTIN``: ``demo``, ``normal-day``, ...)."""
    text_path = str(path)
    if text_path in BUILTIN:
        source = resources.files("opsdesk") / "starter" / "scenarios" / f"{text_path}.yaml"
        return read_scenario(parse(source.read_text(encoding="utf-8"), f"{text_path}.yaml"))
    return read_scenario(load(Path(path)))


def read_scenario(doc: Document) -> Scenario:
    """Check a scenario document; raises ``InvalidInput`` listing every problem."""
    r = Reader(doc)
    if doc.data is None or doc.data == {}:  # a file left empty ran the defaults as if they were meant
        r.problem((), f"the scenario is empty: expected a mapping of its keys ({', '.join(sorted(_TOP))}; "
                  "docs/reference/scenarios.md)")
    top = r.mapping((), doc.data, _TOP)
    store = r.mapping(("store",), top.get("store"), _STORE)
    delivery = r.mapping(("delivery",), top.get("delivery"), _DELIVERY)
    values: dict[str, Any] = {
        "name": r.typed(("name",), top.get("name"), str, "a name") or Path(doc.path).stem,
        "description": r.typed(("description",), top.get("description"), str, "text"),
        "seed": r.typed(("seed",), top.get("seed"), int, "an integer"),
        "shop": r.typed(("shop",), top.get("shop"), str, "a myshopify domain"),
        "start": _start(r, top.get("start")),
        "history": r.duration(("history",), top.get("history")),
        "duration": r.duration(("duration",), top.get("duration")),
        "follow": r.duration(("follow",), top.get("follow")),
        "orders_per_day": _positive(r, ("store", "orders_per_day"), store.get("orders_per_day")),
        "day_factor": _factor(r, store.get("day_factor")),
        "products": _positive(r, ("store", "products"), store.get("products")),
        "returns_share": r.share(("store", "returns_share"), store.get("returns_share")),
        "disputes_share": r.share(("store", "disputes_share"), store.get("disputes_share")),
        "cancel_share": r.share(("store", "cancel_share"), store.get("cancel_share")),
        "duplicate_share": r.share(("delivery", "duplicate_share"), delivery.get("duplicate_share")),
        "reorder_share": r.share(("delivery", "reorder_share"), delivery.get("reorder_share")),
        "carrier_trouble": _carrier_trouble(r, top.get("carrier_trouble")),
        "speed": _speed(r, delivery.get("speed")),
        "tick": _tick(r, delivery.get("tick")),
        "staffing": _staffing(r, top.get("staffing")),
        "incidents": read_incidents(r, top.get("incidents")),
    }
    day = values["duration"] or ONE_DAY
    if values["tick"] is not None and values["tick"] > day:
        r.problem(("delivery", "tick"), f"expected a tick no longer than the scored day "
                  f"({top.get('duration') or '1d'}), got {delivery.get('tick')!r}")
    if r.problems:
        raise InvalidInput("scenario has problems:\n" + "\n".join(r.problems))
    return Scenario(**{k: v for k, v in values.items() if v is not None}, path=doc.path)


def _positive(r: Reader, keys: tuple[str | int, ...], value: Any) -> int | None:
    number = r.typed(keys, value, int, "a positive integer")
    if number is not None and number < 1:
        r.problem(keys, f"expected a positive integer, got {number}")
        return None
    return number  # type: ignore[no-any-return]


def _factor(r: Reader, value: Any) -> float | None:
    number = r.typed(("store", "day_factor"), value, (int, float), "a positive number")
    if number is not None and number <= 0:
        r.problem(("store", "day_factor"), f"expected a positive number, got {number}")
        return None
    return None if number is None else float(number)


def _start(r: Reader, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        r.problem(("start",), f"expected an ISO 8601 time like 2026-11-27T05:00:00Z, got {value!r}")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _tick(r: Reader, value: Any) -> timedelta | None:
    tick = r.duration(("delivery", "tick"), value)
    if tick is not None and tick <= timedelta(0):
        r.problem(("delivery", "tick"), f"expected a tick above 0, like 1m, got {value!r}")
        return None
    return tick


def _speed(r: Reader, value: Any) -> float | None:
    if value is None or value == "max":
        return None
    number = r.typed(
        ("delivery", "speed"), value, (int, float), "a number of virtual seconds per second, or max"
    )
    if number is not None and number <= 0:
        r.problem(("delivery", "speed"), "speed must be above 0")
        return None
    return None if number is None else float(number)


def _carrier_trouble(r: Reader, value: Any) -> Shares | None:
    """The parcels' shares of each carrier trouble; a share left out keeps its calibrated value."""
    block = r.mapping(("carrier_trouble",), value, _TROUBLE_KEYS)
    read = {k: r.share(("carrier_trouble", k), v) for k, v in block.items() if k in _TROUBLE_KEYS}
    taken = {k: v for k, v in read.items() if v is not None}
    if not block or len(taken) < len(read):
        return None
    shares = Shares(**taken)
    total = sum(getattr(shares, path) for path in PATHS)
    if total > 1 + 1e-9:  # the paths are drawn one after another from one number: more than 1 never reaches the last
        r.problem(("carrier_trouble",), f"expected the parcels' shares ({', '.join(PATHS)}) to add up to 1 or less, "
                  f"got {round(total, 6)}", of_key=True)
        return None
    return shares


def _staffing(r: Reader, value: Any) -> Staffing | None:
    staff = r.mapping(("staffing",), value, _STAFF)
    if not staff:
        return None
    people = r.typed(("staffing", "people"), staff.get("people"), list, "a list of people from opsdesk.yaml")
    if people == []:  # ran with everyone: the opposite of what it says
        r.problem(("staffing", "people"), "expected at least one person from opsdesk.yaml (leave people out for "
                  "everyone), got []")
    pace = r.duration(("staffing", "pace"), staff.get("pace"))
    if pace is not None and pace <= timedelta(0):  # 0s ran as the default pace, silently
        r.problem(("staffing", "pace"), f"expected a pace above 0, like 12m, got {staff.get('pace')!r}")
    hours = _shift(r, staff.get("shift"))
    defaults = Staffing()
    return Staffing(
        people=tuple(str(p) for p in people or ()),
        pace=pace if pace is not None else defaults.pace,
        shift=hours or defaults.shift,
    )


def _shift(r: Reader, value: Any) -> tuple[timedelta, timedelta] | None:
    """Two times of day, ``start-end``; an end before the start ends the next day (a night shift)."""
    if value is None:
        return None
    parts = str(value).split("-")
    bounds = [r.duration(("staffing", "shift"), p.strip()) for p in parts] if len(parts) == 2 else []
    if len(bounds) != 2 or bounds[0] is None or bounds[1] is None:
        r.problem(("staffing", "shift"), f"expected a shift like 08:00-18:00, got {value!r}")
        return None
    start, end = bounds[0], bounds[1]
    if not (start < ONE_DAY and end <= ONE_DAY) or start == end:
        r.problem(("staffing", "shift"), "expected a shift between two different times of day from 00:00 to 24:00, "
                  f"like 08:00-18:00 (or 22:00-06:00, ending the next day), got {value!r}")
        return None
    return start, end
