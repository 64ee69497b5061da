"""What one batch of the discount guard reads and writes, so that a batch costs a few statements.

Rate windows are read once and written once at the end; item costs and known discounts are read once,
the costs of all the batch's orders in one statement before its events run (an item's cost heard of in the
batch is read again after it, as before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from opsdesk.domain.discount_windows import RateWindow, baseline
from opsdesk.domain.discounts import DiscountRecord
from opsdesk.ports import UnitOfWork

SHOP_WIDE = ""


class BatchState:
    """What one batch reads and writes: rate windows (each read once, written once at the end), item costs."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._windows: dict[tuple[str, str, datetime], RateWindow] = {}
        self._dirty: set[tuple[str, str, datetime]] = set()
        self._stored: dict[tuple[str, str, datetime], list[RateWindow]] = {}  # windows from a start on
        #: shares_before's answers, by (shop, since, start): the same for every order of a window, until a
        #: shop-wide window between ``since`` and ``start`` changes.
        self._shares: dict[tuple[str, datetime, datetime], list[Decimal]] = {}
        self._baselines: dict[tuple[str, datetime, datetime], tuple[Decimal, Decimal]] = {}  # likewise
        self._costs: dict[tuple[str, str], Decimal | None] = {}
        self._discounts: dict[str, list[DiscountRecord]] = {}

    def discounts(self, shop: str) -> list[DiscountRecord]:
        """The discounts known in a shop (read once per batch, again after a change is heard)."""
        if shop not in self._discounts:
            self._discounts[shop] = self._uow.discounts.for_shop(shop)
        return self._discounts[shop]

    def discounts_changed(self, shop: str) -> None:
        self._discounts.pop(shop, None)

    def read_costs(self, wanted: Mapping[str, Iterable[str]]) -> None:
        """Read the costs of these SKUs, by shop, in one statement per shop (those not read yet)."""
        for shop, skus in wanted.items():
            missing = sorted({s for s in skus if (shop, s) not in self._costs})
            if missing:
                found = self._uow.discounts.costs(shop, missing)
                self._costs.update({(shop, s): found.get(s) for s in missing})

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
            # A history read from before ``start`` holds this window too (windows are written at the end).
            found = next(
                (ws for (s, sub, since), ws in self._stored.items() if (s, sub) == (shop, subject) and since <= start),
                None,
            )
            if found is None:
                found = self._read(shop, subject, start)
            first = next((w for w in found if w.start == start), None)
            self._windows[key] = first or RateWindow(shop, subject, start)
            self._changed(shop, subject, start)
        return self._windows[key]

    def put(self, window: RateWindow) -> None:
        key = (window.shop, window.subject, window.start)
        self._windows[key] = window
        self._dirty.add(key)
        self._changed(*key)

    def shares_before(self, shop: str, since: datetime, start: datetime) -> list[Decimal]:
        """The discount shares of the shop's windows from ``since`` to before ``start``, this batch's included."""
        if (shop, since, start) not in self._shares:
            self._shares[(shop, since, start)] = [w.share for w in self._before(shop, SHOP_WIDE, since, start).values()]
        return list(self._shares[(shop, since, start)])

    def use_before(self, shop: str, subject: str, since: datetime, start: datetime) -> list[Decimal]:
        """A code's share of the shop's orders in each of the shop's windows from ``since`` to before
        ``start`` (0 in a window without the code), this batch's included."""
        uses = self._before(shop, subject, since, start)
        return [
            Decimal(uses[at].orders if at in uses else 0) / window.orders
            for at, window in self._before(shop, SHOP_WIDE, since, start).items()
            if window.orders
        ]

    def _before(self, shop: str, subject: str, since: datetime, start: datetime) -> dict[datetime, RateWindow]:
        """The windows of a subject from ``since`` to before ``start``, by start: stored, or this batch's."""
        merged = {w.start: w for w in self._read(shop, subject, since) if w.start < start}
        merged.update(
            {k[2]: w for k, w in self._windows.items() if k[0] == shop and k[1] == subject and since <= k[2] < start}
        )
        return merged

    def baseline(self, shop: str, since: datetime, start: datetime) -> tuple[Decimal, Decimal]:
        """``baseline`` of ``shares_before``, worked out once for all the orders of a window."""
        if (shop, since, start) not in self._baselines:
            self._baselines[(shop, since, start)] = baseline(self.shares_before(shop, since, start))
        return self._baselines[(shop, since, start)]

    def _changed(self, shop: str, subject: str, start: datetime) -> None:
        if subject == SHOP_WIDE:
            for key in [k for k in self._shares if k[0] == shop and k[1] <= start < k[2]]:
                del self._shares[key]
                self._baselines.pop(key, None)

    def _read(self, shop: str, subject: str, since: datetime) -> list[RateWindow]:
        """The stored windows of a subject from ``since`` on (read once per batch)."""
        if (shop, subject, since) not in self._stored:
            self._stored[(shop, subject, since)] = self._uow.discounts.windows(shop, subject, since)
        return self._stored[(shop, subject, since)]

    def flush(self) -> None:
        for key in sorted(self._dirty):
            self._uow.discounts.put_window(self._windows[key])
        self._dirty.clear()
