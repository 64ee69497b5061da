"""The reconciliation mark: per shop, the start of the last sweep that finished (ADR 0015).

Kept in ``guardrail_usage`` under ``reconcile:mark:<shop>``, as the monitors' counters are (no schema of its
own): ``amount`` holds the time as epoch seconds (an exact decimal), ``count`` the sweeps finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.policies import Usage
from opsdesk.ports import Database, UnitOfWork

__all__ = ["MARK_PREFIX", "due", "read_mark", "write_mark"]

MARK_PREFIX = "reconcile:mark:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_amount(moment: datetime) -> Decimal:
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return Decimal(micros).scaleb(-6)


def _from_amount(amount: Decimal) -> datetime:
    return EPOCH + timedelta(microseconds=int(amount.scaleb(6)))


def read_mark(uow: UnitOfWork, shop: str) -> datetime | None:
    """The shop's high-water mark: the start of the last sweep that finished, or None before the first."""
    found = uow.usage.get_many([MARK_PREFIX + shop]).get(MARK_PREFIX + shop)
    return _from_amount(found.amount) if found is not None and found.count > 0 else None


def write_mark(uow: UnitOfWork, shop: str, moment: datetime) -> datetime:
    """Move the mark forward to ``moment`` (never back); returns the mark kept."""
    key = MARK_PREFIX + shop
    found = uow.usage.get_many([key]).get(key)
    current = _from_amount(found.amount) if found is not None and found.count > 0 else None
    kept = moment if current is None or moment > current else current
    uow.usage.put_many({key: Usage(count=(found.count if found else 0) + 1, amount=_to_amount(kept))})
    return kept


def due(db: Database, shops: Sequence[str], now: datetime, period: timedelta) -> list[str]:
    """The shops whose last finished sweep started at least ``period`` ago (or never swept)."""
    with db.unit_of_work(read_only=True) as uow:
        marks: Mapping[str, datetime | None] = {shop: read_mark(uow, shop) for shop in shops}
    return [shop for shop, mark in marks.items() if mark is None or now - mark >= period]
