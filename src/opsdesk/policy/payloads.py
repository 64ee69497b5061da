"""What a playbook may write into the text the desk stores: an action's parameters, a condition's source.

An action's parameters are stored with it as a JSON document (``actions.payload``), and a rule's condition in
the reason of each decision it takes (``decisions.reason``). YAML builds values that neither takes: a lone
surrogate (``"\\ud800"``, not UTF-8), bytes (``!!binary``), a whole number past 64 bits; PostgreSQL refuses
a NUL in text. Such a value would fail the action's decision at its first event, not the check.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any

Path = tuple[str | int, ...]

#: The whole numbers a JSON document is stored with (what ``orjson`` encodes).
WHOLE_NUMBERS = range(-(2**63), 2**64)


def text_problem(text: str) -> str:
    """Why free text (line breaks and tabs welcome) cannot be stored, or "" when it can."""
    bad = next((c for c in text if c == "\x00" or unicodedata.category(c) == "Cs"), None)
    return f"may not contain {bad!r}: a NUL or a lone surrogate is not text" if bad is not None else ""


def problems(value: Any, at: Path = ()) -> Iterator[tuple[Path, str]]:
    """Where in ``value`` (an action's parameters) something cannot be stored, and why."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield at, problem
    elif isinstance(value, bool | float | date) or value is None:
        return
    elif isinstance(value, int):
        if value not in WHOLE_NUMBERS:
            yield at, f"is {value}: past the 64-bit whole numbers an action's payload stores"
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from problems(item, (*at, i) if isinstance(value, list) else at)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from problems(key, at)  # where the mapping is: a key has no place of its own here
            yield from problems(item, (*at, key))
    else:
        yield (
            at,
            f"is not text, a number, a list or a mapping ({type(value).__name__}): an action stores only those",
        )
