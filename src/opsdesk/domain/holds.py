"""Fulfilment holds the desk places, each named by why, and which of them a release takes.

Since Admin API 2025-01 a fulfilment order carries several holds, each with an id and the ``handle`` its app
gave it (unique among one app's holds on one fulfilment order), and ``fulfillmentOrderReleaseHold`` releases
the holds its ``holdIds`` name (every hold of the fulfilment order when it names none, which Shopify warns
against). The desk places each hold under ``opsdesk-<purpose>`` (``opsdesk-address``, ``opsdesk-risk``, ...),
the purpose following from the hold's reason, and a release names the purposes it releases: the address
monitor its address hold, a person resolving a case the holds that case's kind is about (``CASE_HOLDS``).
A hold the desk did not place (by hand in Shopify, or by another app) is never released by it.

Holds placed before handles were named carry the placing action's idempotency key (``opsdesk-`` and 32 hex
digits) as their handle: those are taken by their reason instead.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


class HoldPurpose(enum.StrEnum):
    """Why the desk holds an order's fulfilment orders."""

    ADDRESS = "address"  # the carrier refused the shipping address (the address monitor)
    RISK = "risk"  # a high risk of fraud (the risk playbook)
    INVENTORY = "inventory"  # the stock ordered is gone (the inventory playbook)
    PAYMENT = "payment"  # the payment is still awaited
    OTHER = "other"  # any other reason a playbook gives


PREFIX = "opsdesk-"
#: Shopify's hold reason for each purpose; any other reason is ``OTHER``'s.
REASONS: Mapping[HoldPurpose, str] = {
    HoldPurpose.ADDRESS: "INCORRECT_ADDRESS",
    HoldPurpose.RISK: "HIGH_RISK_OF_FRAUD",
    HoldPurpose.INVENTORY: "INVENTORY_OUT_OF_STOCK",
    HoldPurpose.PAYMENT: "AWAITING_PAYMENT",
}
#: How the case page names each hold.
NAMES: Mapping[HoldPurpose, str] = {
    HoldPurpose.ADDRESS: "address hold",
    HoldPurpose.RISK: "fraud hold",
    HoldPurpose.INVENTORY: "out-of-stock hold",
    HoldPurpose.PAYMENT: "payment hold",
    HoldPurpose.OTHER: "other hold",
}
#: The holds a person's ``release_hold`` on a case of each kind releases. A risk review is an ``order`` case
#: (the ``risk`` queue's kind); a fulfilment case (a delayed order, a missed pickup) releases what holds the
#: order back for shipping reasons, never a fraud hold. A kind not here is about no hold of the desk's.
CASE_HOLDS: Mapping[str, tuple[HoldPurpose, ...]] = {
    "address": (HoldPurpose.ADDRESS,),
    "order": (HoldPurpose.RISK,),
    "inventory": (HoldPurpose.INVENTORY,),
    "payment": (HoldPurpose.PAYMENT,),
    "fulfilment": (HoldPurpose.ADDRESS, HoldPurpose.INVENTORY),
}
_UNNAMED = re.compile(rf"^{PREFIX}[0-9a-f]{{32}}$")  # a hold placed before handles were named


@dataclass(frozen=True, slots=True)
class Hold:
    """A hold on a fulfilment order, as Shopify shows it to the desk."""

    id: str
    handle: str
    reason: str
    ours: bool  # ``heldByRequestingApp``: the desk placed it


def purpose_of(reason: str) -> HoldPurpose:
    """The purpose a hold of Shopify's ``reason`` serves."""
    return next((p for p, r in REASONS.items() if r == reason.upper()), HoldPurpose.OTHER)


def handle(purpose: HoldPurpose) -> str:
    """The handle the desk places a hold of ``purpose`` under."""
    return f"{PREFIX}{purpose.value}"


def purposes(values: Iterable[object]) -> tuple[HoldPurpose, ...]:
    """Purposes by name; raises ``ValueError`` for one that is not."""
    return tuple(HoldPurpose(str(v)) for v in values)


def released_by(hold: Hold, wanted: Collection[HoldPurpose]) -> bool:
    """Whether a release of the ``wanted`` purposes takes ``hold``: one of the desk's, placed for one of them."""
    if not hold.ours:
        return False
    if _UNNAMED.match(hold.handle):
        return purpose_of(hold.reason) in wanted
    return hold.handle in {handle(p) for p in wanted}


def case_holds(kind: str) -> tuple[HoldPurpose, ...]:
    """The holds a person releases resolving a case of ``kind`` as ``release_hold`` (none: nothing to release)."""
    return CASE_HOLDS.get(kind, ())


def describe(wanted: Iterable[HoldPurpose]) -> str:
    """``the desk's address hold``, ``the desk's address and out-of-stock holds``."""
    names = [NAMES[p].removesuffix(" hold") for p in wanted]
    if not names:
        return "no hold"
    if len(names) == 1:
        return f"the desk's {names[0]} hold"
    return f"the desk's {', '.join(names[:-1])} and {names[-1]} holds"
