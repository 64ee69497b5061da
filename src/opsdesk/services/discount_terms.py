"""The discount preflight's reading round: ask the Admin API for the terms of the discounts heard of.

The ``discounts/*`` webhooks carry only a discount's id, title and status; its terms are read here, outside
any transaction, and handed to ``DiscountGuard.checked``, which stores them and runs the preflight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from opsdesk.domain.discounts import DiscountRecord, DiscountTerms
from opsdesk.domain.errors import NotFound, Unavailable
from opsdesk.ports import Database
from opsdesk.services.discounts import DiscountGuard


class TermsReader(Protocol):
    """Reads a discount's terms from the store (``ShopifyAdmin.discount_terms``)."""

    def discount_terms(self, shop: str, discount_gid: str) -> dict[str, Any]: ...


def inspect_pending(
    db: Database, reader: TermsReader, guard: DiscountGuard, now: Callable[[], datetime], limit: int = 20
) -> int:
    """Read the terms of the discounts heard of since the last round and run the preflight on them.

    The Admin API is called outside any transaction; a discount whose terms cannot be read now stays
    pending for the next round. Returns how many were checked.
    """
    with db.unit_of_work(read_only=True) as uow:
        pending = uow.discounts.needing_terms(limit)
    checked = 0
    for record in pending:
        try:
            terms: DiscountTerms | None = terms_from_admin(reader.discount_terms(record.shop, record.gid))
        except NotFound:
            terms = None
        except Unavailable:
            _tried(db, record, now())
            continue
        with db.unit_of_work() as uow:
            guard.checked(uow, record, terms, now())
            uow.commit()
        checked += 1
    return checked


def _tried(db: Database, record: DiscountRecord, at: datetime) -> None:
    """Note a failed read: the discount stays pending, behind those not tried yet."""
    with db.unit_of_work() as uow:
        current = uow.discounts.find(record.shop, record.gid)
        if current is not None and current.needs_terms:
            uow.discounts.put(replace(current, checked_at=at))
            uow.commit()


def terms_from_admin(raw: Mapping[str, Any]) -> DiscountTerms:
    """The connector's reading of a discount node (see ``ShopifyAdmin.discount_terms``)."""
    combines = raw.get("combines_with") or {}
    return DiscountTerms(
        gid=str(raw.get("id") or ""),
        title=str(raw.get("title") or ""),
        status=str(raw.get("status") or ""),
        percentage=raw.get("percentage"),
        amount=raw.get("amount"),
        ends_at=raw.get("ends_at"),
        usage_limit=raw.get("usage_limit"),
        combines=any(bool(v) for v in combines.values()),
        all_items=bool(raw.get("applies_to_all_items")),
        codes=tuple(raw.get("codes") or ()),
    )
