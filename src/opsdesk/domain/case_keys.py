"""Case keys: the short name a person reads and types (``C-1042``), next to the id the desk builds.

A case's id is built from its cause (``address-<shop>-<order>-<fingerprint>``, a digest) so that a repeated
signal finds the same case; it is long. Each case also gets a number when it is stored, from the desk's
own sequence (ADR 0029), and is named by it as ``C-<number>``: short, stable, and free of personal data.
Wherever a case id is accepted, its key is accepted too.
"""

from __future__ import annotations

import re

PREFIX = "C-"
#: ``C-1042`` in any case; at most 18 digits, which every 64-bit column holds.
_KEY = re.compile(r"[Cc]-([0-9]{1,18})")


def case_key(number: int) -> str:
    return f"{PREFIX}{number}"


def key_or_id(number: int | None, case_id: str) -> str:
    """How people name a case: its key, or its id while it has no number (not stored yet)."""
    return case_key(number) if number is not None else case_id


def key_number(ref: str) -> int | None:
    """The number a case key names (``C-1042``, ``c-1042``: 1042), or ``None`` when ``ref`` is no key."""
    found = _KEY.fullmatch(ref.strip())
    return int(found[1]) if found else None
