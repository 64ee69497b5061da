"""What one batch of the discount guard reads and writes, so that a batch costs a few statements.

Rate windows are read once and written once at the end; item costs and known discounts are read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from opsdesk.domain.discounts import DiscountRecord, RateWindow
from opsdesk.ports import UnitOfWork

SHOP_WIDE = ""


class BatchState:
    """What one batch reads and writes: rate windows (each read once, written once at the end), item costs."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._windows: dict[tuple[str, str, datetime], RateWindow] = {}
        self._dirty: set[tuple[str, str, datetime]] = set()
        self._stored: dict[tuple[str, datetime], list[RateWindow]] = {}
        self._costs: dict[tuple[str, str], Decimal | None] = {}
        self._discounts: dict[str, list[DiscountRecord]] = {}

    def discounts(self, shop: str) -> list[DiscountRecord]:
        """The discounts known in a shop (read once per batch, again after a change is heard)."""
        if shop not in self._discounts:
            self._discounts[shop] = self._uow.discounts.for_shop(shop)
        return self._discounts[shop]

    def discounts_changed(self, shop: str) -> None:
        self._discounts.pop(shop, None)

    def costs(self, shop: str, skus: Sequence[str]) -> dict[str, Decimal]:
        """The recorded unit costs of these SKUs (read once per batch)."""
        missing = [s for s in skus if (shop, s) not in self._costs]
        if missing:
            found = self._uow.discounts.costs(shop, missing)
            self._costs.update({(shop, s): found.get(s) for s in missing})
        return {s: cost for s in skus if (cost := self._costs[(shop, s)]) is not None}

    def cost_changed(self, shop: str, sku: str) -> None:
        self._costs.pop((shop, sku), None)  # read again: the stored one may be newer than this event's

    def get(self, shop: str, subject: str, start: datetime) -> RateWindow:
        key = (shop, subject, start)
        if key not in self._windows:
            found = self._uow.discounts.windows(shop, subject, start)
            first = found[0] if found and found[0].start == start else None
            self._windows[key] = first or RateWindow(shop, subject, start)
        return self._windows[key]

    def put(self, window: RateWindow) -> None:
        key = (window.shop, window.subject, window.start)
        self._windows[key] = window
        self._dirty.add(key)

    def shares_before(self, shop: str, since: datetime, start: datetime) -> list[Decimal]:
        """The discount shares of the shop's windows from ``since`` to before ``start``, this batch's included."""
        if (shop, since) not in self._stored:
            self._stored[(shop, since)] = self._uow.discounts.windows(shop, SHOP_WIDE, since)
        merged = {w.start: w for w in self._stored[(shop, since)] if w.start < start}
        merged.update(
            {
                k[2]: w
                for k, w in self._windows.items()
                if k[0] == shop and k[1] == SHOP_WIDE and since <= k[2] < start
            }
        )
        return [w.share for w in merged.values()]

    def flush(self) -> None:
        for key in sorted(self._dirty):
            self._uow.discounts.put_window(self._windows[key])
        self._dirty.clear()
