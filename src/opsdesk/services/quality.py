"""Wrong item picked: the quality case for the warehouse notes the SKUs and whether they went wrong before.

``playbooks/wrong_item.yaml`` approves the return and asks for a reship by itself; the case it opens in
the ``quality`` queue is about the warehouse, not the customer. When it opens, this adds the returned
SKUs, the location that shipped the order (Shopify does not say who packed it; the location is the
nearest it tells), and how many earlier wrong-item cases share a SKU: at ``repeat_after`` or more the
case is raised to high priority, since a mislabelled bin or a packer's habit costs an order a day.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.records import CaseFilter, CaseRecord
from opsdesk.ports import UnitOfWork

#: How far back repeats are counted: the newest quality cases of the shop.
LOOK_BACK = 500


def with_repeats(uow: UnitOfWork, record: CaseRecord, repeat_after: int = 2) -> CaseRecord:
    skus = _skus(uow, record)
    earlier = uow.cases.search(
        CaseFilter(kind="quality", shop=record.shop, active_only=False), limit=LOOK_BACK
    )
    repeats: dict[str, int] = dict.fromkeys(skus, 0)
    for case in earlier:
        if case.id == record.id:
            continue
        for sku in set(case.detail.get("skus") or ()) & set(skus):
            repeats[sku] += 1
    state = uow.orders.find(ShopDomain(record.shop), OrderId(record.order_id)) if record.order_id else None
    location = state.snapshot.location_id if state and state.snapshot else None
    worst = max(repeats.values(), default=0)
    detail = {**record.detail, "skus": skus, "repeats": repeats, "shipped_from_location": location}
    priority = "high" if worst + 1 >= repeat_after else record.priority
    before = ", ".join(f"{sku} ({n} before)" for sku, n in repeats.items() if n)
    note = f"; SKUs picked wrong before: {before}" if before else ""
    return replace(record, detail=detail, priority=priority, reason=record.reason + note)


def _skus(uow: UnitOfWork, record: CaseRecord) -> list[str]:
    """The returned SKUs, from the facts the decision that opened the case saw."""
    kind, _, decision_id = record.source.partition(":")
    if kind != "decision" or record.order_id is None:
        return []
    for decision in uow.decisions.for_order(record.shop, record.order_id):
        if decision.id == decision_id:
            event: Any = decision.inputs.get("event") or {}
            return [str(s) for s in event.get("skus") or []]
    return []
