"""The scorecard's ``carrier_trouble`` section: how the desk handled the parcels the carrier had trouble with.

From the truth's ``trouble`` (``simulator/trouble.py``) beside the desk's cases and outbox:

- ``buyer_action``: the customer emailed (``carrier_needs_buyer``) and how long after the carrier's scan; of the
  parcels still waiting on their buyer ``monitors.buyer_action.hours`` after it (before the horizon), those with a
  case opened since the scan;
- ``returned_to_sender``: of the parcels the carrier sent back before the horizon, those with a case opened
  since their trouble began, and how long after the return scan the first was opened;
- ``cases_not_needed``: cases opened since its trouble began on a parcel that needed nobody (delivered at the
  second attempt, collected at its pickup point, delivered once its buyer acted), unless the truth has another
  reason for a person to look at the order.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.cases import Case
from opsdesk.ports import UnitOfWork
from opsdesk.simulator.trouble import BUYER, PATHS
from opsdesk.simulator.truth import Trouble, Truth

EMAIL, TEMPLATE = "email", "carrier_needs_buyer"


def carrier_trouble(uow: UnitOfWork, truth: Truth, cases: Iterable[Case], buyer_hours: float) -> dict[str, Any]:
    """The section; ``buyer_hours`` is the desk's ``monitors.buyer_action.hours`` (how long it lets a buyer act)."""
    opened: dict[int, list[datetime]] = {}
    for case in cases:
        if case.order_id is not None:
            opened.setdefault(case.order_id, []).append(case.opened_at)
    since = {t.order_id: _first_case(opened, t.order_id, t.at) for t in truth.trouble}
    counts = Counter(t.path for t in truth.trouble)
    needless = sorted(t.order_id for t in truth.trouble if t.ended != "returned"
                      and since[t.order_id] is not None and t.order_id not in truth.needs_person)
    return {
        "parcels": {path: counts[path] for path in PATHS},
        "buyer_action": _buyer_action(uow, truth, since, timedelta(hours=buyer_hours)),
        "returned_to_sender": _returned(truth, since),
        "cases_not_needed": {"count": len(needless), "orders": needless[:10]},
    }


def _first_case(opened: dict[int, list[datetime]], order_id: int, trouble_at: datetime) -> datetime | None:
    """When the first case about the order was opened since its trouble began (None: none was)."""
    return min((at for at in opened.get(order_id, ()) if at >= trouble_at), default=None)


def _buyer_action(uow: UnitOfWork, truth: Truth, since: dict[int, datetime | None], wait: timedelta) -> dict[str, Any]:
    asked = [t for t in truth.trouble if t.path == BUYER]
    actions = uow.outbox.for_orders(truth.shop, [t.order_id for t in asked], EMAIL)
    emailed = {t.order_id: at for t in asked if (at := _emailed(actions.get(t.order_id, ()), t)) is not None}
    waiting = [t for t in asked if t.at + wait <= truth.horizon and not _acted_by(t, t.at + wait)]
    with_case = [t.order_id for t in waiting if since[t.order_id] is not None]
    return {
        "parcels": len(asked),
        "customer_emailed": len(emailed),
        "not_emailed": sorted(t.order_id for t in asked if t.order_id not in emailed)[:10],
        "emailed_after_seconds": _spread(emailed[t.order_id] - t.at for t in asked if t.order_id in emailed),
        "buyer_acted": sum(1 for t in asked if t.acted_at is not None and t.acted_at <= truth.horizon),
        "still_waiting_after_hours": wait.total_seconds() / 3600,
        "still_waiting": len(waiting),
        "still_waiting_with_a_case": len(with_case),
        "still_waiting_without_a_case": sorted({t.order_id for t in waiting}.difference(with_case))[:10],
    }


def _emailed(actions: Iterable[Any], trouble: Trouble) -> datetime | None:
    """When the desk queued the ``carrier_needs_buyer`` email to the customer since the scan (None: it did not)."""
    return min((a.created_at for a in actions
                if a.payload.get("template") == TEMPLATE and a.created_at >= trouble.at), default=None)


def _acted_by(trouble: Trouble, at: datetime) -> bool:
    return trouble.acted_at is not None and trouble.acted_at <= at


def _returned(truth: Truth, since: dict[int, datetime | None]) -> dict[str, Any]:
    back = [t for t in truth.trouble if t.ended == "returned" and t.ended_at <= truth.horizon]
    cased = {t.order_id: case_at for t in back if (case_at := since[t.order_id]) is not None}
    return {
        "parcels": len(back),
        "with_a_case": len(cased),
        "without_a_case": sorted(t.order_id for t in back if t.order_id not in cased)[:10],
        # a parcel its buyer left waiting has its case before it goes back: 0 then
        "case_after_seconds": _spread(max(cased[t.order_id] - t.ended_at, timedelta(0))
                                      for t in back if t.order_id in cased),
    }


def _spread(spans: Iterable[timedelta]) -> dict[str, int] | None:
    """The median and the longest of some spans, in seconds (None: there are none)."""
    seconds = sorted(round(s.total_seconds()) for s in spans)
    return {"median": round(statistics.median(seconds)), "max": seconds[-1]} if seconds else None
