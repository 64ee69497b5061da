"""Shopify global ids (``gid://shopify/<Kind>/<number>``) from what an outbox action's payload carries."""

from __future__ import annotations

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.records import OutboxAction


def gid(kind: str, value: object) -> str:
    """A Shopify global id from a gid or a bare numeric id; raises InvalidPayload for anything else."""
    text = str(value if value is not None else "").strip()
    if text.startswith(f"gid://shopify/{kind}/"):
        return text
    if text.isdigit():
        return f"gid://shopify/{kind}/{text}"
    raise InvalidPayload(f"not a {kind} id: {value!r}")


def order_gid(action: OutboxAction) -> str:
    """The action's order: its own, else its payload's."""
    return gid("Order", action.order_id if action.order_id is not None else action.payload.get("order_id"))
