"""What a reconciliation sweep is told (its settings), and what it tells (its report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.errors import Unavailable

__all__ = ["SweepFailed", "SweepRefused", "SweepReport", "SweepSettings"]

JSON = dict[str, Any]


class SweepFailed(Unavailable):
    """The Admin API did not answer a page; the mark stays where it was. Try again later (the CLI's exit 3)."""


class SweepRefused(SweepFailed):
    """The Admin API refused a page (a token, a scope the app lacks): asking again cannot help until the app or
    its token changes (the CLI's exit 2). ``credentials``: it refused the shop's credentials themselves
    (``CredentialsRefused``: a 401, a 403 naming no scope, a refused client credentials grant), and the shop is
    marked as the outbox marks it (ADR 0067)."""

    def __init__(self, message: str, *, credentials: bool = False) -> None:
        super().__init__(message)
        self.credentials = credentials


@dataclass(frozen=True, slots=True)
class SweepSettings:
    overlap: timedelta = timedelta(minutes=5)
    page_size: int = 100
    #: Where the first sweep of a shop starts, before there is a mark.
    initial_lookback: timedelta = timedelta(hours=24)
    #: Tries per page; waits between them follow the provider's Retry-After, capped at ``max_wait``.
    attempts: int = 3
    max_wait: float = 30.0
    #: Whether Shopify Payments disputes are swept too (the app needs ``read_shopify_payments_disputes``).
    disputes: bool = True
    #: How long before the mark a dispute is re-read: its search has no ``updated_at``, so a change to a
    #: dispute initiated earlier than this is not seen. Card networks settle most disputes within 120 days.
    dispute_window: timedelta = timedelta(days=120)


@dataclass(slots=True)
class SweepReport:
    shop: str
    since: datetime
    started_at: datetime
    ok: bool = False
    error: str = ""
    #: The sweep failed because Shopify refused the shop's credentials (``SweepRefused.credentials``).
    credentials_refused: bool = False
    pages: int = 0
    seen: int = 0
    missing: int = 0
    stale: int = 0
    undecided: int = 0
    appended: int = 0
    #: Missing or stale orders whose reconciliation delivery was appended by an earlier sweep already.
    already_appended: int = 0
    unreadable: int = 0
    dispute_pages: int = 0
    disputes_seen: int = 0
    #: Refunds read on the orders (the orders query carries them; they have no pages of their own).
    refunds_seen: int = 0
    #: Returns read on the orders read whole (any status; only those still requested can be appended).
    returns_seen: int = 0
    #: Carrier events read on the fulfilments changed in the window at a carrier's status (ADR 0040).
    carrier_events_seen: int = 0
    #: Orders read whole because the desk is behind on them (or their listing could not tell).
    orders_read: int = 0
    #: Orders that could not be read whole (more refunds or fulfilments than Shopify lets one query read,
    #: or gone since they were listed): not appended, rather than folded as if they had only what was read.
    incomplete: list[str] = field(default_factory=list)
    #: Seconds the reads waited, before sending, for the shop's cost bucket to hold their cost and the reserve
    #: left for the desk's actions (Shopify's rate limit: the sweep paces itself rather than be throttled).
    paced_seconds: float = 0.0
    mark: datetime | None = None
    found: list[JSON] = field(default_factory=list)

    def record(self, reason: str, found: JSON) -> None:
        """Count one resource the desk is behind on under ``reason`` (missing, stale, undecided) and list it."""
        setattr(self, reason, getattr(self, reason) + 1)
        self.found.append(found)

    def as_dict(self) -> JSON:
        return {
            "shop": self.shop, "since": self.since, "started_at": self.started_at,
            "ok": self.ok, "error": self.error, "pages": self.pages, "seen": self.seen,
            "missing": self.missing, "stale": self.stale, "undecided": self.undecided, "appended": self.appended,
            "already_appended": self.already_appended, "unreadable": self.unreadable,
            "dispute_pages": self.dispute_pages, "disputes_seen": self.disputes_seen,
            "refunds_seen": self.refunds_seen, "returns_seen": self.returns_seen,
            "carrier_events_seen": self.carrier_events_seen, "orders_read": self.orders_read,
            "incomplete": self.incomplete,
            "paced_seconds": self.paced_seconds,
            "mark": self.mark, "found": self.found[:200],
        }

