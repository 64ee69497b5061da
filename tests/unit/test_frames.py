"""The store process's frames: pickled with a reducer per slotted dataclass, read back as they were."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from itertools import islice
from typing import Any

from opsdesk.services.ahead import Ahead
from opsdesk.simulator import frames
from opsdesk.simulator.store import Store
from tests.unit.test_simulator import SECRET, small


def walk(obj: Any) -> Iterator[Any]:
    """``obj`` and everything it holds: containers' items, dataclasses' fields."""
    yield obj
    if isinstance(obj, (tuple, list, set, frozenset)):
        for item in obj:
            yield from walk(item)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from walk(key)
            yield from walk(value)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            yield from walk(getattr(obj, f.name))


def a_days_items() -> list[tuple[Any, ...]]:
    """Deliveries as the child sends them: with the desk's verdict and events worked out ahead."""
    plan = small()
    checks = Ahead(plan.shop, (SECRET,), True, 1 << 20)
    return [
        (d.at, d.topic, d.headers, d.body, None, checks.check(d.headers, d.body))
        for d in islice(Store(plan, SECRET), 600)
    ]


def test_every_slotted_dataclass_in_a_days_frames_has_a_reducer_of_its_own() -> None:
    items = a_days_items()
    slotted = {type(o) for o in walk(items) if is_dataclass(o) and "__slots__" in type(o).__dict__}
    # the events themselves, the order snapshots inside them, and what the normalisers ignore
    assert {"OrderChanged", "OrderSnapshot", "Ignored"} <= {cls.__name__ for cls in slotted}
    assert slotted <= frames.DISPATCH.keys()


def test_frames_read_back_equal_with_the_same_types_in_every_field() -> None:
    frame = ("deliveries", a_days_items())
    back = pickle.loads(frames.dumps(frame))
    assert back == frame
    assert [type(o) for o in walk(back)] == [type(o) for o in walk(frame)]
    assert back == pickle.loads(pickle.dumps(frame, pickle.HIGHEST_PROTOCOL))


@dataclass(frozen=True, slots=True)
class Counted:
    """A slotted dataclass whose ``__post_init__`` would show a second run."""

    value: int
    label: str = "x"
    derived: tuple[int, ...] = field(init=False, default=())
    runs: list[int] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        self.runs.append(self.value)
        object.__setattr__(self, "derived", (self.value * 2,))


def test_an_instance_is_restored_field_by_field_without_running_init_again() -> None:
    original = Counted(4, "four")
    back = pickle.loads(frames.dumps(original, {**frames.DISPATCH, Counted: frames.reducer(Counted)}))
    assert back == original == pickle.loads(pickle.dumps(original))
    assert back.derived == (8,) and back.label == "four"
    assert back.runs == [4]  # carried over as it was: __post_init__ did not run on loading


@dataclass(frozen=True, slots=True)
class One:
    only: str


def test_a_dataclass_of_one_field_round_trips() -> None:
    table = {**frames.DISPATCH, One: frames.reducer(One)}
    assert pickle.loads(frames.dumps([One("a"), One("b")], table)) == [One("a"), One("b")]
