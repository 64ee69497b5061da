"""Normalised store events: what happened in a shop, in past tense, independent of Shopify's JSON.

Every event has a ``name`` (what rules match on with ``when``), the shop it happened in, the time
it happened (``occurred_at``, used to order deliveries that arrive out of order) and a ``key`` that
identifies the business fact, so that the same fact delivered twice is decided once.

The base is in ``store_event``; the events, by what they are about, in ``orders``, ``fulfilments``,
``returns`` (returns, refunds, disputes), ``inventory`` and ``shop`` (discounts, privacy requests, the app
uninstalled). All are importable from here: the normaliser makes them and
the policies, services and simulator take them.
"""

from opsdesk.domain.events.fulfilments import (
    FulfillmentChanged,
    FulfillmentEventDeleted,
    FulfillmentEventRecorded,
    FulfillmentHeld,
)
from opsdesk.domain.events.inventory import InventoryItemChanged, InventoryLevelChanged, OrderOversold
from opsdesk.domain.events.orders import (
    LineItem,
    OrderChange,
    OrderChanged,
    OrderEdited,
    OrderSnapshot,
    PaymentOverdue,
    QuantityDelta,
    RiskAssessed,
    ShippingAddress,
)
from opsdesk.domain.events.returns import (
    DAMAGE_RETURN_REASONS,
    SIMPLE_RETURN_REASONS,
    DisputeChange,
    DisputeChanged,
    RefundCreated,
    RefundLine,
    ReturnChange,
    ReturnChanged,
    ReturnLine,
    ReturnUpdated,
)
from opsdesk.domain.events.shop import (
    AppUninstalled,
    ComplianceKind,
    ComplianceRequested,
    DiscountChange,
    DiscountChanged,
)
from opsdesk.domain.events.store_event import OrderId, ShopDomain, StoreEvent

__all__ = [
    "DAMAGE_RETURN_REASONS",
    "SIMPLE_RETURN_REASONS",
    "AppUninstalled",
    "ComplianceKind",
    "ComplianceRequested",
    "DiscountChange",
    "DiscountChanged",
    "DisputeChange",
    "DisputeChanged",
    "FulfillmentChanged",
    "FulfillmentEventDeleted",
    "FulfillmentEventRecorded",
    "FulfillmentHeld",
    "InventoryItemChanged",
    "InventoryLevelChanged",
    "LineItem",
    "OrderChange",
    "OrderChanged",
    "OrderEdited",
    "OrderId",
    "OrderOversold",
    "OrderSnapshot",
    "PaymentOverdue",
    "QuantityDelta",
    "RefundCreated",
    "RefundLine",
    "ReturnChange",
    "ReturnChanged",
    "ReturnLine",
    "ReturnUpdated",
    "RiskAssessed",
    "ShippingAddress",
    "ShopDomain",
    "StoreEvent",
]
