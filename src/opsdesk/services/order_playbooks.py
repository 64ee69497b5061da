"""What the order-side default playbooks plug into the desk: watchers, timer handlers, outbox hooks, cases.

``app.build`` wires these from ``opsdesk.yaml`` (``order_playbooks``); the playbooks themselves decide in
``playbooks/{refunds,disputes,inventory,risk,payments,wrong_item}.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from opsdesk.domain.records import CaseRecord
from opsdesk.ports import UnitOfWork
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.services import disputes, payments, quality
from opsdesk.services.cases import CaseHooks
from opsdesk.services.deadlines import Handler
from opsdesk.services.inventory import READ_ITEM, InventoryWatch, named
from opsdesk.services.inventory_items import ItemAnswers
from opsdesk.services.pipeline import Watcher


@dataclass(frozen=True, slots=True)
class OrderPlaybooks:
    payment_pending: timedelta = timedelta(minutes=30)
    oversold_max_orders: int = 50
    wrong_item_repeat_after: int = 2
    #: payment methods that clear slowly by design, casefolded (``payment.overdue``'s ``slow_method``)
    slow_methods: frozenset[str] = frozenset()
    #: the warehouses' names by Shopify location id (``warehouses:``), for the stock cases' titles
    locations: Mapping[int, str] = field(default_factory=dict)

    def watchers(self) -> list[Watcher]:
        return [InventoryWatch(self.oversold_max_orders), payments.PaymentWatch(self.payment_pending)]

    def timer_handlers(self) -> dict[str, Handler]:
        return {payments.PAYMENT_PENDING: payments.PaymentWatch(self.payment_pending).fire}

    def outcome_hooks(self, case_hooks: Callable[[], CaseHooks]) -> dict[str, OutcomeHook]:
        answers = ItemAnswers(self.oversold_max_orders, self.locations, case_hooks)
        return {"check_payment": partial(payments.checked, slow=self.slow_methods), READ_ITEM: answers.on_outcome}

    def enrich_case(self, uow: UnitOfWork, record: CaseRecord, now: datetime) -> CaseRecord:
        """Evidence for dispute cases; SKUs and repeats for quality cases; names for stock cases (whatever their
        queue); others as they are."""
        if record.kind == "dispute":
            return disputes.with_evidence(uow, record)
        if record.kind == "quality":
            return quality.with_repeats(uow, record, self.wrong_item_repeat_after)
        return named(uow, record, self.locations)
