"""Records as a SQL table gives them back, for the in-memory repositories of ``opsdesk.testing``:
datetimes in UTC (a naive one refused), documents through the codec's JSON."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from opsdesk.storage.codec import dumps, loads

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def in_utc(record: R) -> R:
    """The record with its datetimes in UTC, as a SQL column gives them back."""
    changes: dict[str, datetime] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database; use timezone-aware UTC")
            changes[f.name] = value.astimezone(UTC)
    return replace(record, **changes) if changes else record


def as_stored(value: Any) -> Any:
    """A document as a SQL table gives it back: Decimals and datetimes as strings, tuples as lists."""
    return loads(dumps(value))
