"""Discount windows: orders, revenue and discount per fixed window, and the detectors over them.

The rate detector compares the discount share of revenue in the current window with a robust baseline of
the previous windows (median and median absolute deviation), so one odd window in the history does not
move the baseline; a code's use is compared likewise with its usual share of the orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from opsdesk.domain.discounts import ZERO, GuardPolicy

#: Scales the median absolute deviation to a standard deviation for normally distributed data.
MAD_SCALE = Decimal("1.4826")


def baseline(history: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The median of the history and its median absolute deviation."""
    if not history:
        return ZERO, ZERO
    middle = Decimal(median(history))
    return middle, Decimal(median(abs(x - middle) for x in history))


def rate_anomaly(
    history: Sequence[Decimal], share: Decimal, orders: int, policy: GuardPolicy,
    base: tuple[Decimal, Decimal] | None = None,
) -> bool:
    """Whether a window's discount share of revenue is far above the baseline of the windows before it.

    ``base`` is ``baseline(history)`` when the caller has it already (once per window, not once per order).
    """
    if len(history) < policy.min_baseline_windows or orders < policy.rate_min_orders:
        return False
    middle, mad = baseline(history) if base is None else base
    return share - middle >= policy.rate_min_increase and share > middle + policy.rate_mads * MAD_SCALE * mad


def unusual_use(history: Sequence[Decimal], share: Decimal, policy: GuardPolicy) -> bool:
    """Whether a code's share of a window's orders is far above its usual share: more than ``rate_mads``
    scaled median absolute deviations above the median of its shares in the windows before (``history``,
    0 for a window without the code, so any use of a new code is unusual). With fewer than
    ``min_baseline_windows`` windows before, there is no usual share to compare with (as for the rate
    detector): nothing is unusual yet.
    """
    if len(history) < policy.min_baseline_windows:
        return False
    middle, mad = baseline(history)
    return share > middle + policy.rate_mads * MAD_SCALE * mad


def code_abuse(uses: int, new_customers: int, policy: GuardPolicy, unusual: bool = True) -> str:
    """Why a code's use in one window looks like abuse (a usage spike, a leak to new accounts), or ''.

    A spike is more than ``code_max_uses`` uses that are ``unusual`` for the code (``unusual_use``): in a
    large shop an everyday code is used that often in every busy window, at its usual share of the orders.
    """
    if uses > policy.code_max_uses and unusual:
        return f"used {uses} times in one window (more than {policy.code_max_uses})"
    if new_customers >= policy.code_min_new_customers and new_customers >= policy.code_new_share * uses:
        return f"{new_customers} of {uses} uses in one window by accounts created just before"
    return ""


@dataclass(frozen=True, slots=True)
class RateWindow:
    """Orders, revenue and discount of one window, for the shop (subject ``""``) or one code (``code:X``)."""

    shop: str
    subject: str
    start: datetime
    orders: int = 0
    new_customers: int = 0
    revenue: Decimal = ZERO
    discount: Decimal = ZERO
    #: When the window's first order was placed.
    first_at: datetime | None = None

    @property
    def share(self) -> Decimal:
        gross = self.revenue + self.discount
        return self.discount / gross if gross else ZERO

    def add(self, revenue: Decimal, discount: Decimal, new_customer: bool, at: datetime) -> RateWindow:
        return replace(
            self,
            first_at=at if self.first_at is None else min(self.first_at, at),
            orders=self.orders + 1,
            new_customers=self.new_customers + int(new_customer),
            revenue=self.revenue + revenue,
            discount=self.discount + discount,
        )


#: Where a sweep along the windows' starts stands: the start, shop and subject of the last window it read.
WindowMark = tuple[datetime, str, str]


def window_start(at: datetime, length: timedelta) -> datetime:
    """The start of the fixed window ``at`` falls in (windows aligned to the Unix epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=at.tzinfo)
    return epoch + (at - epoch) // length * length
