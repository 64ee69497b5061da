"""Events about the shop rather than one order: its discounts, mandatory privacy requests, the app removed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from opsdesk.domain.events.store_event import StoreEvent


class DiscountChange(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class ComplianceKind(enum.Enum):
    CUSTOMER_DATA_REQUEST = "customer_data_request"
    CUSTOMER_REDACT = "customer_redact"
    SHOP_REDACT = "shop_redact"


@dataclass(frozen=True, slots=True)
class DiscountChanged(StoreEvent):
    change: DiscountChange
    discount_gid: str
    title: str
    status: str

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"discount.{self.change.value}"

    @property
    def key(self) -> str:
        return f"{self.name}:{self.discount_gid}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class ComplianceRequested(StoreEvent):
    """A mandatory privacy request: export or erase a customer's data, or erase a shop's."""

    kind: ComplianceKind
    customer_id: int | None
    email: str
    orders: tuple[int, ...]
    phone: str = ""
    #: Shopify's id of a ``customers/data_request`` (``data_request.id``), which names its export.
    request_id: int | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"compliance.{self.kind.value}"

    @property
    def key(self) -> str:
        return f"{self.name}:{self.customer_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class AppUninstalled(StoreEvent):
    """The shop removed the app: its Admin API token is revoked, so nothing can be sent to it (ADR 0067)."""

    name: ClassVar[str] = "app.uninstalled"
