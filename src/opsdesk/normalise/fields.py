"""Typed reads of Shopify JSON fields, failing with the field's path.

``get_*`` raises ``FieldError`` when the field is missing or unreadable; ``find_*`` returns ``None``
(or an empty value) when it is missing or null and raises only when it is present but unreadable.
Ids are exact ints: Shopify's ``admin_graphql_api_id`` wins over the numeric field, because payloads
that went through a float64 JSON parser carry ids above 2**53 rounded while the gid string is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from opsdesk.domain.errors import InvalidPayload

JSON = Mapping[str, Any]
T = TypeVar("T")

_GID_PREFIX = "gid://shopify/"
_MAX_ID = 2**63 - 1
_FLOAT_EXACT = 2**53
_MAX_ID_DIGITS = 19


class FieldError(InvalidPayload):
    """A field of the payload is missing or unreadable."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"field '{path}' {problem}")
        self.path = path
        self.problem = problem

    def inside(self, parent: str) -> FieldError:
        """The same error, seen from the object that holds ``parent``."""
        joiner = "" if self.path.startswith("[") else "."
        return FieldError(f"{parent}{joiner}{self.path}", self.problem)


def show(value: object) -> str:
    """A short repr of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def is_object(value: object) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def get_object(obj: JSON, key: str) -> JSON:
    value = obj.get(key)
    if value is None:
        raise FieldError(key, "is missing")
    if not is_object(value):
        raise FieldError(key, f"is not an object: {show(value)}")
    return value  # type: ignore[no-any-return]


def find_object(obj: JSON, key: str) -> JSON | None:
    value = obj.get(key)
    if value is None:
        return None
    if not is_object(value):
        raise FieldError(key, f"is not an object: {show(value)}")
    return value  # type: ignore[no-any-return]


def gid_number(gid: object) -> int | None:
    """The numeric id at the end of ``gid://shopify/Type/123``, or ``None`` when there is none."""
    if type(gid) is not str or not gid.startswith(_GID_PREFIX):
        return None
    tail = gid.rpartition("/")[2].partition("?")[0]
    return _digits(tail)


def gid_parameter(gid: object, name: str) -> int | None:
    """The numeric query parameter ``name`` of a gid (``...?inventory_item_id=123``)."""
    if type(gid) is not str or not gid.startswith(_GID_PREFIX):
        return None
    for pair in gid.partition("?")[2].split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return _digits(value)
    return None


def get_id(obj: JSON, key: str = "id", gid_key: str | None = "admin_graphql_api_id") -> int:
    found = find_id(obj, key, gid_key)
    if found is None:
        raise FieldError(key, "is missing")
    return found


def find_id(obj: JSON, key: str = "id", gid_key: str | None = "admin_graphql_api_id") -> int | None:
    value = obj.get(key)
    # Below 2**53 a float64 parse cannot have rounded the number, so it is the gid's: skip parsing that.
    if type(value) is int and 0 <= value < _FLOAT_EXACT:
        return value
    if gid_key is not None:
        from_gid = gid_number(obj.get(gid_key))
        if from_gid is not None:
            return from_gid
    return None if value is None else to_id(value, key)


def to_id(value: object, path: str) -> int:
    """A non-negative 64-bit id from an int or a string of digits; never through a float."""
    if type(value) is int and 0 <= value <= _MAX_ID:
        return value
    number = _digits(value) if type(value) is str else None
    if number is None:
        raise FieldError(path, f"is not an id: {show(value)}")
    return number


def get_ids(obj: JSON, key: str) -> tuple[int, ...]:
    """A list of ids; missing or null is an empty tuple."""
    value = obj.get(key)
    if value is None:
        return ()
    if type(value) is not list and type(value) is not tuple:
        raise FieldError(key, f"is not a list: {show(value)}")
    return tuple(to_id(item, f"{key}[]") for item in value)


def get_int(obj: JSON, key: str) -> int:
    value = obj.get(key)
    if type(value) is int:
        return value
    raise FieldError(key, "is missing" if value is None else f"is not an integer: {show(value)}")


def find_int(obj: JSON, key: str) -> int | None:
    value = obj.get(key)
    return None if value is None else get_int(obj, key)


def text(obj: JSON, key: str) -> str:
    """A string field; missing or null is the empty string."""
    value = obj.get(key)
    if type(value) is str:
        return value
    if value is None:
        return ""
    raise FieldError(key, f"is not a string: {show(value)}")


def get_text(obj: JSON, key: str) -> str:
    value = obj.get(key)
    if type(value) is str and value:
        return value
    raise FieldError(key, "is missing" if value is None or value == "" else f"is not a string: {show(value)}")


def get_decimal(obj: JSON, key: str) -> Decimal:
    value = obj.get(key)
    if value is None:
        raise FieldError(key, "is missing")
    return to_decimal(value, key)


def find_decimal(obj: JSON, key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else to_decimal(value, key)


def to_decimal(value: object, path: str) -> Decimal:
    """An amount as Shopify sends it: a string, sometimes a number; never through a float's binary value."""
    kind = type(value)
    if kind is not str and kind is not int and kind is not float:
        raise FieldError(path, f"is not an amount: {show(value)}")
    try:
        amount = Decimal(repr(value) if kind is float else value)  # type: ignore[arg-type]
    except (ArithmeticError, ValueError) as exc:
        raise FieldError(path, f"is not an amount: {show(value)}") from exc
    if not amount.is_finite():
        raise FieldError(path, f"is not a finite amount: {show(value)}")
    return amount


def total(amounts: Sequence[Decimal], path: str) -> Decimal:
    try:
        return sum(amounts, Decimal(0))
    except ArithmeticError as exc:
        raise FieldError(path, "adds up to an amount out of range") from exc


def get_datetime(obj: JSON, key: str) -> datetime:
    value = obj.get(key)
    if value is None:
        raise FieldError(key, "is missing")
    return to_datetime(value, key)


def find_datetime(obj: JSON, key: str) -> datetime | None:
    value = obj.get(key)
    return None if value is None else to_datetime(value, key)


def to_datetime(value: object, path: str) -> datetime:
    """A timezone-aware UTC datetime from ISO 8601 with an offset (``T`` or a space between date and time)."""
    if type(value) is not str:
        raise FieldError(path, f"is not a timestamp: {show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(path, f"is not a timestamp: {show(value)}") from exc
    if parsed.tzinfo is None:
        raise FieldError(path, f"has no UTC offset: {show(value)}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise FieldError(path, f"is out of range in UTC: {show(value)}") from exc


def occurred_at(obj: JSON, keys: Sequence[str], triggered_at: datetime | None) -> datetime:
    """The first of ``keys`` present in ``obj``, else the delivery's trigger time."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return to_datetime(value, key)
    if triggered_at is None:
        path = "|".join(keys) or "triggered_at"
        raise FieldError(path, "is missing and the delivery has no trigger time to stand in")
    return triggered_at


def each(obj: JSON, key: str, parse: Callable[[JSON], T]) -> tuple[T, ...]:
    """Parse every object in the list ``key`` (missing or null is empty); an error names the item."""
    items = obj.get(key)
    if items is None:
        return ()
    if type(items) is not list and type(items) is not tuple:
        raise FieldError(key, f"is not a list: {show(items)}")
    parsed = []
    for index, item in enumerate(items):
        if type(item) is not dict and not isinstance(item, Mapping):
            raise FieldError(f"{key}[{index}]", f"is not an object: {show(item)}")
        try:
            parsed.append(parse(item))
        except FieldError as exc:
            raise exc.inside(f"{key}[{index}]") from exc
    return tuple(parsed)


def within(obj: JSON, key: str, parse: Callable[[JSON], T]) -> T | None:
    """Parse the object ``key`` when present (``None`` when missing or null); an error names the path."""
    child = find_object(obj, key)
    if child is None:
        return None
    try:
        return parse(child)
    except FieldError as exc:
        raise exc.inside(key) from exc


def _digits(value: str) -> int | None:
    if value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS:
        number = int(value)
        return number if number <= _MAX_ID else None
    return None
