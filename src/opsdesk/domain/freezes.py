"""What freezes automatic refunds on an order, each thing by name (ADR 0009): a dispute the merchant has not won, a
damage claim."""

from __future__ import annotations

from opsdesk.domain.orders import OrderState


def dispute_named(state: OrderState, dispute_id: int) -> str:
    """A dispute on the order as a person reads it: ``dispute D (a chargeback of 19.99) is under_review``; its type
    left out when Shopify's deliveries did not say it."""
    held = state.disputes[dispute_id]
    kind = state.dispute_kinds.get(dispute_id)
    article = "an" if kind is not None and kind.status[:1] in "aeiou" else "a"
    of = f"{article} {kind.status} of {held.amount}" if kind is not None else str(held.amount)
    return f"dispute {dispute_id} ({of}) is {held.status or 'of no status'}"
