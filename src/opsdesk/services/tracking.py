"""A fulfilment's tracking as the desk shows it: in the order's view, a case's detail, a rule's facts and an email's
fields (ADR 0065, amended in session 15). Links are the ones ``domain.tracking`` kept: http(s) only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsdesk.domain.orders import OrderState
from opsdesk.domain.tracking import Tracking


def shown(fulfillment_id: int, tracking: Tracking) -> dict[str, Any]:
    """One fulfilment's tracking: its carrier and its parcels (number and link, either may be "")."""
    return {"fulfillment_id": fulfillment_id, "company": tracking.company,
            "parcels": [{"number": p.number, "url": p.url} for p in tracking.parcels]}


def order_tracking(state: OrderState) -> list[dict[str, Any]]:
    """Every fulfilment's tracking the order holds that names a carrier or a parcel, by fulfilment id."""
    return [shown(fid, t) for fid, t in sorted(state.tracking.items()) if t.known]


def case_tracking(state: OrderState | None, fulfillment_id: int | None = None) -> dict[str, Any]:
    """What a case about the order's parcels carries (``detail["tracking"]``): the fulfilment's tracking, or, with
    no fulfilment named, every fulfilment's; nothing when none is known."""
    if state is None:
        return {}
    if fulfillment_id is None:
        found = order_tracking(state)
        return {"tracking": found} if found else {}
    held = state.tracking.get(fulfillment_id)
    return {"tracking": [shown(fulfillment_id, held)]} if held is not None and held.known else {}


def facts_tracking(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a case a rule opens on a carrier event carries (``detail["tracking"]``, as ``case_tracking``): its
    fulfilment's tracking, from the event's facts (``tracking_facts``); nothing when they hold none."""
    company, fid = str(event.get("tracking_company") or ""), event.get("fulfillment_id")
    numbers, urls = list(event.get("tracking_numbers") or []), list(event.get("tracking_urls") or [])
    parcels = [{"number": str(n or ""), "url": str(u or "")} for n, u in zip(numbers, urls, strict=False)]
    if not isinstance(fid, int) or not (company or parcels):
        return {}
    return {"tracking": [{"fulfillment_id": fid, "company": company, "parcels": parcels}]}


def tracking_facts(state: OrderState | None, fulfillment_id: int) -> dict[str, Any]:
    """A carrier event's facts about its fulfilment's tracking, as a rule sees them: the carrier, the numbers and
    the links paired by position as Shopify's lists are ("" where a parcel has none); empty when unknown."""
    held = state.tracking.get(fulfillment_id) if state is not None else None
    parcels = held.parcels if held is not None else ()
    return {"tracking_company": held.company if held is not None else "",
            "tracking_numbers": [p.number for p in parcels], "tracking_urls": [p.url for p in parcels]}


def email_fields(event: Mapping[str, Any]) -> dict[str, str]:
    """The carrier, and the first parcel with a link (else the first with a number), that an email about a parcel
    names, from its event's facts (``tracking_facts``); none that the facts lack."""
    numbers, urls = list(event.get("tracking_numbers") or []), list(event.get("tracking_urls") or [])
    at = next((i for i, url in enumerate(urls) if url), next((i for i, n in enumerate(numbers) if n), 0))
    found = {"carrier": event.get("tracking_company"), "tracking_number": numbers[at] if at < len(numbers) else "",
             "tracking_url": urls[at] if at < len(urls) else ""}
    return {key: str(value) for key, value in found.items() if value}
