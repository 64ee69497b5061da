"""A fulfilment's tracking: its carrier and its parcels' numbers and links, as ``fulfillments/*`` last said them.

Kept only as far as it can be shown to a person or a customer without harm (ADR 0065, amended in session 15): a
link only when it is ``http`` or ``https`` with a host (never ``javascript:``, ``data:`` or a relative path, which a
page would follow as the desk's own), text without control characters (a line break in a number would add lines to
an email), lengths capped as the desk caps a name (255) and a link (2,000), at most ``MAX_PARCELS`` parcels. A number
or link past its cap is dropped rather than cut: a cut one would be a wrong one. The carrier's name is display text
and is cut.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from urllib.parse import urlsplit

#: The longest carrier name or tracking number kept (as a person's or an owner's name elsewhere).
MAX_TEXT = 255
#: The longest link kept (as the sign-in page's ``next``).
MAX_URL = 2000
#: The most parcels (number and link) kept of one fulfilment.
MAX_PARCELS = 10
_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class Parcel:
    """One tracking number and its link (either may be "": Shopify pairs its two lists by position)."""

    number: str
    url: str


@dataclass(frozen=True, slots=True)
class Tracking:
    """A fulfilment's carrier and parcels, and when the fulfilment said so (its version time)."""

    company: str
    parcels: tuple[Parcel, ...]
    at: datetime

    @property
    def number(self) -> str:
        """The first tracking number ("" when none)."""
        return next((p.number for p in self.parcels if p.number), "")

    @property
    def url(self) -> str:
        """The first tracking link ("" when none)."""
        return next((p.url for p in self.parcels if p.url), "")

    @property
    def known(self) -> bool:
        return bool(self.company or self.parcels)


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` on one line (runs of white space and control characters made one space), cut to ``limit``."""
    printable = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(printable.split())[:limit]


def safe_url(text: str) -> str:
    """``text`` as a link a page or an email may carry: an absolute ``http(s)`` URL with a host, no white space or
    control character, at most ``MAX_URL`` long; else ""."""
    url = text.strip()
    if not url or len(url) > MAX_URL or any(unicodedata.category(c)[0] in "CZ" for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host (an unclosed ``[``)
        return ""
    return url if parts.scheme.lower() in _SCHEMES and parts.hostname else ""


def parcels(numbers: Sequence[str], urls: Sequence[str]) -> tuple[Parcel, ...]:
    """The parcels of Shopify's ``tracking_numbers`` and ``tracking_urls`` (paired by position), each kept as far
    as it is safe: a number too long, or a link that is not ``safe_url``, is left out of its pair; an empty pair
    and a repeated one are dropped."""
    found: list[Parcel] = []
    for number, url in zip_longest(numbers, urls, fillvalue=""):
        kept_number = clean(number, MAX_TEXT + 1)
        parcel = Parcel(kept_number if len(kept_number) <= MAX_TEXT else "", safe_url(url))
        if (parcel.number or parcel.url) and parcel not in found:
            found.append(parcel)
    return tuple(found[:MAX_PARCELS])


def kept(held: Mapping[int, Tracking], fulfillment_id: int, tracking: Tracking) -> dict[str, object]:
    """The order's tracking with what a fulfilment's version says, the newer version winning (the same time: the
    greater, so any delivery order folds alike); nothing when it is not newer."""
    current = held.get(fulfillment_id)
    if current is not None and _order(current) >= _order(tracking):
        return {}
    return {"tracking": {**held, fulfillment_id: tracking}}


def _order(tracking: Tracking) -> tuple[datetime, str, tuple[tuple[str, str], ...]]:
    return tracking.at, tracking.company, tuple((p.number, p.url) for p in tracking.parcels)
