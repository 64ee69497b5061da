"""Items known only by id, asked of Shopify when their SKU matters.

A stock level below zero is traced to the open orders holding its SKU, and its case is titled by the SKU; but
an ``inventory_levels/update`` names its item by id, and the SKU comes only with ``inventory_items/*``, which a
store sends when an item changes. An item unchanged since opsdesk was connected has never sent one, so the
level's orders would go unfound and unheld. The inventory watcher asks Shopify for such an item
(``read_inventory_item``, once per item: the action's id comes from the shop and the item), and this hook,
when the answer comes, records the item as ``inventory_items/*`` would, names the open cases of its stock, and
raises ``order.oversold`` for the open orders holding it at each location still below zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from opsdesk.domain.cases import stock_key
from opsdesk.domain.outbox import ActionStatus, Delivered, SendResult
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, add_signal
from opsdesk.services.inventory import ITEM_SOURCE as SOURCE
from opsdesk.services.inventory import named, oversold, raise_oversold


@dataclass(frozen=True)
class ItemAnswers:
    """The outcome hook of ``read_inventory_item``."""

    max_orders: int
    #: the warehouses' names by Shopify location id, for the cases' titles
    locations: Mapping[int, str]
    case_hooks: Callable[[], CaseHooks]

    def on_outcome(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        shop, item = action.shop, int(action.payload["inventory_item_id"])
        if isinstance(result, Delivered):
            sku, tracked = str(result.response.get("sku") or ""), bool(result.response.get("tracked", True))
            uow.inventory.record_item(shop, item, sku, tracked)
            self._found(uow, shop, item, sku, tracked, now)
            return False
        if action.status is not ActionStatus.FAILED:
            return False  # the outbox asks again
        # The stock's cases say that its SKU stays unknown, and why; no case of its own for a question.
        for levels_case in self._cases(uow, shop, item):
            add_signal(uow, levels_case.id, SOURCE, f"the item's SKU could not be read from Shopify: {result.reason}",
                       now, self.case_hooks())
        return True

    def _found(self, uow: UnitOfWork, shop: str, item: int, sku: str, tracked: bool, now: datetime) -> None:
        for case in self._cases(uow, shop, item):
            renamed = named(uow, case, self.locations)
            add_signal(uow, case.id, SOURCE, f"Shopify says the item is SKU {sku or '(none)'}", now,
                       self.case_hooks(), {"stock": renamed.detail.get("stock")}, renamed.title)
        if not sku or not tracked:
            return
        _, levels = uow.inventory.stock(shop, (), (item,))
        for level in sorted(levels, key=lambda lv: lv.location_id):
            if level.available is not None and level.available < 0:
                newest = uow.inventory.open_orders(shop, sku, self.max_orders, level.last_in_stock)
                for order_id in oversold(uow, {}, shop, sku, newest, level.available):
                    raise_oversold(uow, shop, order_id, [sku], level.available, "stock below zero", now)

    @staticmethod
    def _cases(uow: UnitOfWork, shop: str, item: int) -> list[CaseRecord]:
        """The active cases about the item's stock, at every location."""
        return uow.cases.holding(stock_key(shop, item))
