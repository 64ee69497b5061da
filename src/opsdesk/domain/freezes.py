"""What freezes automatic refunds on an order, each thing by name (ADR 0009): a dispute the merchant has not won, a
damage claim. A decision records them (``order.frozen_by``), so the last look before a refund's send (ADR 0041) can
tell a freeze its decider knew from one that came since: a second dispute on an order frozen by a first.
"""

from __future__ import annotations

from opsdesk.domain.orders import DISPUTE_WON, OrderState

#: The statuses of a dispute still open (Shopify's): one such dispute moving from one to the other (the merchant
#: sent evidence) is the freeze its decider knew, not a new one.
DISPUTE_OPEN = frozenset({"needs_response", "under_review"})


def dispute_freeze(dispute_id: int, status: str) -> str:
    """A dispute not won, as the freeze it is: ``dispute D open``, or at its status when it is over (lost, accepted,
    charge_refunded, prevented, one the desk does not know): the money went back, which an open one did not say."""
    return f"dispute {dispute_id} {'open' if status in DISPUTE_OPEN else status or 'of no status'}"


def claim_freeze(return_id: int) -> str:
    return f"return {return_id} claims damage"


def frozen_by(state: OrderState) -> list[str]:
    """What freezes refunds on the order now, in a stable order (none when ``refunds_frozen`` is false)."""
    disputes = [dispute_freeze(dispute_id, held.status) for dispute_id, held in sorted(state.disputes.items())
                if held.status != DISPUTE_WON]
    return disputes + [claim_freeze(return_id) for return_id in sorted(state.damage_claims)]


def dispute_named(state: OrderState, dispute_id: int) -> str:
    """A dispute on the order as a person reads it: ``dispute D (a chargeback of 19.99) is under_review``; its type
    left out when Shopify's deliveries did not say it."""
    held = state.disputes[dispute_id]
    kind = state.dispute_kinds.get(dispute_id)
    article = "an" if kind is not None and kind.status[:1] in "aeiou" else "a"
    of = f"{article} {kind.status} of {held.amount}" if kind is not None else str(held.amount)
    return f"dispute {dispute_id} ({of}) is {held.status or 'of no status'}"
