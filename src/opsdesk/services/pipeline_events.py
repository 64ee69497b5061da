"""A delivery's events as the pipeline prepares them, outside any transaction: normalised, or why there are none.

Parsing and normalising is the pipeline's CPU work and needs no transaction (nor SQLite's write lock), so it is
done before the batch's transaction begins (``Pipeline.prepare``), or ahead in another process (``ahead``).
"""

from __future__ import annotations

from typing import Any

import orjson

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import ShopDomain, StoreEvent
from opsdesk.domain.records import RawDelivery, StoredDelivery
from opsdesk.normalise.shopify import Ignored, normalise

#: A delivery's normalised events, ``Ignored``, "held", or "failed:<reason>".
Outcome_ = tuple[StoreEvent, ...] | Ignored | str
Prepared = tuple[StoredDelivery, Outcome_]
#: An event with its key, formatted once per batch: decision ids and decision records all read it.
Keyed = tuple[StoreEvent, str]


def normalised(d: RawDelivery, payload: Any = None) -> Outcome_:
    """A delivery's events, ``Ignored``, "held" (an unknown shop's) or "failed:<why>"; ``payload`` is its
    body already parsed, if it was. Never raises: one unreadable delivery must never block the rest."""
    if not d.known_shop:
        return "held"
    try:
        if payload is None:
            payload = orjson.loads(d.body)
        return normalise(d.topic, ShopDomain(d.shop), payload, d.triggered_at)
    except (InvalidPayload, orjson.JSONDecodeError) as exc:
        return f"failed:{exc}"
    except Exception as exc:
        return f"failed:internal error {type(exc).__name__}: {exc}"
