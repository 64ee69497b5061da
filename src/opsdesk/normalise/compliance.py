"""The mandatory privacy topics (``customers/data_request``, ``customers/redact``, ``shop/redact``) and
``app/uninstalled``, which Shopify sends before ``shop/redact``."""

from __future__ import annotations

from datetime import datetime

from opsdesk.domain.events import AppUninstalled, ComplianceKind, ComplianceRequested, ShopDomain, StoreEvent
from opsdesk.normalise.fields import JSON, find_id, get_ids, occurred_at, text, within

_NO_TIMES: tuple[str, ...] = ()


def compliance_requested(
    kind: ComplianceKind, payload: JSON, shop: ShopDomain, triggered_at: datetime | None
) -> tuple[StoreEvent, ...]:
    """A privacy request; the payload is undated, so it happened when Shopify triggered the delivery."""
    customer_id, email, phone = within(payload, "customer", _customer) or (None, "", "")
    request_id = within(payload, "data_request", find_id)
    return (
        ComplianceRequested(
            shop,
            occurred_at(payload, _NO_TIMES, triggered_at),
            kind=kind,
            customer_id=customer_id,
            email=email,
            orders=get_ids(payload, "orders_requested") or get_ids(payload, "orders_to_redact"),
            phone=phone,
            request_id=request_id,
        ),
    )


def _customer(customer: JSON) -> tuple[int | None, str, str]:
    return find_id(customer), text(customer, "email"), text(customer, "phone")


def app_uninstalled(payload: JSON, shop: ShopDomain, triggered_at: datetime | None) -> tuple[StoreEvent, ...]:
    """The shop removed the app (its payload is the shop, undated): when Shopify triggered the delivery."""
    return (AppUninstalled(shop, occurred_at(payload, _NO_TIMES, triggered_at)),)
