"""An order's address checks: what names them, what tells two addresses apart, which check decides.

The names: the reply timer's subject and id, the decisions of a check's steps and the case of an address
nobody answered for (``address_decision``, ``case_id``: an address given again is a new answer, named after
the order's version that gave it). The address itself is told apart by its ``fingerprint``; an order's
newest check is ``last_checked``, one still out ``checking``. The monitor is ``services/addresses.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from opsdesk.domain.carriers import VERIFY_ADDRESS
from opsdesk.domain.events import ShippingAddress
from opsdesk.domain.ids import fit_id
from opsdesk.domain.orders import PAID, OrderState
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.inventory_batch import FINAL_FULFILMENT

REPLY = "address_reply"
PLAYBOOK = "address-validation"
SOURCE = f"monitor:{PLAYBOOK}"
#: The payment statuses of an order still to ship: paid, or paid and refunded in part.
SHIPPABLE = PAID | {"partially_refunded"}


def subject(shop: str, order_id: int) -> str:
    return f"address:{shop}:{order_id}"


def timer_id(shop: str, order_id: int) -> str:
    return f"{REPLY}:{shop}:{order_id}"


def address_decision(step: str, shop: str, order_id: int, fingerprint: object, answer: object = "") -> str:
    """The decision of a step (``address``: check, ``address-hold``, ``address-release``) for an address
    (its ``fingerprint``): its actions' ids come from it, the stored decision is ``fit_id`` of it.

    ``answer``: the version of the order (its ``updated_at``) that gave the address, for every check but the
    first: an address given again (gone back to after another) is a new answer, checked again, while the
    same version seen twice (a delivery processed again) is the same check."""
    return f"{step}:{shop}:{order_id}:{fingerprint}" + (f":{answer}" if answer else "")


def case_id(shop: str, order_id: int, fingerprint: object, answer: object = "") -> str:
    """The case (and the decision that opens it) of a refused address the customer did not answer for.

    ``answer``: the order's version that gave the address, when it was not the first check's (as for
    ``address_decision``): an address refused again once its case was resolved (the hold released, then the
    address given again) is a case of its own, not the resolved one."""
    asked = f"-{hashlib.blake2b(str(answer).encode(), digest_size=4).hexdigest()}" if answer else ""
    return fit_id(f"address-{shop}-{order_id}-{fingerprint}{asked}", "-")


def fingerprint(state: OrderState) -> str:
    address = monitors.address_dict(state.snapshot.shipping_address if state.snapshot else None)
    return hashlib.blake2b(json.dumps(address, sort_keys=True).encode(), digest_size=8).hexdigest()


def one_line(address: ShippingAddress | None) -> str:
    """The address as the customer's message and the case say it: street, city, postal code, country."""
    parts = (address.street1, address.city, address.zip, address.country_code) if address else ()
    return ", ".join(p for p in parts if p)


def shippable(state: OrderState) -> bool:
    """Paid, and neither fulfilled nor cancelled: a change of its address is checked before it ships."""
    snap = state.snapshot
    return (
        snap is not None
        and snap.cancelled_at is None
        and state.payment_status in SHIPPABLE
        and state.fulfilment_status not in FINAL_FULFILMENT
    )


def snap_at(state: OrderState) -> datetime | None:
    return state.snapshot.updated_at if state.snapshot else None


def last_checked(checks: Sequence[OutboxAction]) -> str | None:
    """The address (its fingerprint) of the order's newest check, the check of its newest version; None for an
    order never checked. A check queued before checks kept the version is placed at the time it was queued."""
    return str(max(checks, key=_version).payload.get("fingerprint")) if checks else None


def _version(check: OutboxAction) -> datetime:
    version = check.payload.get("version") or check.payload.get("answer")
    return datetime.fromisoformat(str(version)) if version else check.created_at


def step_decision(step: str, payload: Mapping[str, Any]) -> str:
    """The decision of a step about the address a check's ``payload`` is about (``address_decision``)."""
    return address_decision(
        step,
        str(payload["shop"]),
        int(payload["order_id"]),
        payload.get("fingerprint"),
        payload.get("answer", ""),
    )


def checking(uow: UnitOfWork, state: OrderState) -> bool:
    """Whether a check of the order's address as it is now is still out (waiting in the outbox, or retried)."""
    now_at = fingerprint(state)
    return any(
        a.kind == VERIFY_ADDRESS
        and a.status is ActionStatus.PENDING
        and a.payload.get("fingerprint") == now_at
        for a in uow.outbox.for_order(state.shop, state.order_id)
    )
