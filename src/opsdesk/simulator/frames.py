"""Pickling the store process's frames without dataclasses' slow path for slotted classes.

A frame's deliveries carry the desk's events worked out ahead (ADR 0023): frozen, slotted dataclasses
(an ``OrderChanged`` holds an ``OrderSnapshot`` holding its lines). Python pickles such an instance through
``dataclasses``' own ``__getstate__``/``__setstate__``, which call ``fields()`` for every instance, one of
them on each side: unpickling a 100,000-order day's events that way took ~35 % longer than with a
reducer made once per class, and it happens in the desk's thread (ADR 0023).

``dumps`` gives such classes that reducer: the field values in one tuple, and on loading a new instance
with each field set, as ``__setstate__`` does (no ``__init__``, so no ``__post_init__`` runs twice). Any
other object pickles as usual, and ``pickle.loads`` reads the result.
"""

from __future__ import annotations

import copyreg
import importlib
import io
import pickle
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from operator import attrgetter
from types import ModuleType
from typing import Any

import opsdesk.domain
import opsdesk.normalise

Reducer = Callable[[Any], tuple[Any, ...]]


def restore(cls: type, names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    """A ``cls`` with each field set, as ``dataclasses``' ``__setstate__`` leaves it."""
    obj: Any = object.__new__(cls)
    for name, value in zip(names, values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


def reducer(cls: type) -> Reducer:
    """The reducer of one slotted dataclass: ``restore`` with its field names and values."""
    names = tuple(f.name for f in fields(cls))
    if len(names) == 1:
        only = names[0]
        return lambda obj: (restore, (cls, names, (getattr(obj, only),)))
    get = attrgetter(*names)
    return lambda obj: (restore, (cls, names, get(obj)))


def slotted_dataclasses(packages: Iterable[ModuleType]) -> list[type]:
    """The dataclasses with slots defined in the packages' modules, subpackages' included (those pickled the
    slow way)."""
    found: list[type] = []
    for package in packages:
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and obj.__module__ == module.__name__
                    and is_dataclass(obj)
                    and "__slots__" in obj.__dict__
                ):
                    found.append(obj)
    return found


#: copyreg's table with a reducer for each slotted dataclass of the domain and the normalisers
DISPATCH: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    **{cls: reducer(cls) for cls in slotted_dataclasses((opsdesk.domain, opsdesk.normalise))},
}


def dumps(obj: Any, table: dict[type, Callable[[Any], Any]] = DISPATCH) -> bytes:
    """``obj`` pickled (highest protocol) with ``table``'s reducers; ``pickle.loads`` reads it."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = table
    pickler.dump(obj)
    return buffer.getvalue()
