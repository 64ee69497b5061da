"""Discount guardrails: a preflight on a discount's terms, a margin guard on each order, and the incidents.

Percentages are fractions (``0.9`` is 90 % off), as Shopify's Admin API gives them. Money is Decimal and
never rounded here: the money at risk of an order is its discount beyond the allowed maximum share of
its gross (``discount - max_percentage * gross``), and an incident's money at risk is the exact sum over
its bad orders. The rate and code-use detectors over windows of orders are in ``discount_windows``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)


class Violation(enum.Enum):
    NO_END_DATE = "no_end_date"
    ABOVE_MAX_PERCENTAGE = "above_max_percentage"
    COMBINES = "combines_with_other_discounts"
    WHOLE_CATALOGUE = "whole_catalogue"
    NO_USAGE_LIMIT = "no_usage_limit"
    ORDER_ABOVE_MAX = "order_above_max"
    BELOW_COST_FLOOR = "below_cost_floor"
    RATE_ANOMALY = "rate_anomaly"
    CODE_ABUSE = "code_abuse"


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    """What the Admin API says a discount gives (the webhook names the discount only)."""

    gid: str
    title: str
    status: str
    percentage: Decimal | None = None
    amount: Decimal | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    combines: bool = False
    all_items: bool = False
    codes: tuple[str, ...] = ()

    @property
    def is_code(self) -> bool:
        return "/DiscountCodeNode/" in self.gid

    @property
    def active(self) -> bool:
        return self.status.upper() == "ACTIVE"


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The knobs of the discount guardrails (``discount_guard`` in ``opsdesk.yaml``)."""

    max_percentage: Decimal = Decimal("0.5")
    require_end_date: bool = True
    allow_combining: bool = False
    allow_whole_catalogue: bool = True
    require_usage_limit: bool = True
    #: What may pause a discount by itself; anything else only opens a case.
    pause_on: frozenset[Violation] = frozenset(
        {Violation.ABOVE_MAX_PERCENTAGE, Violation.ORDER_ABOVE_MAX, Violation.CODE_ABUSE}
    )
    #: Unit cost by SKU, for the cost floor (a line sold below its cost).
    costs: Mapping[str, Decimal] = field(default_factory=dict)
    window: timedelta = timedelta(minutes=15)
    baseline_windows: int = 96
    min_baseline_windows: int = 8
    rate_min_orders: int = 5
    rate_mads: Decimal = Decimal(5)
    rate_min_increase: Decimal = Decimal("0.1")
    code_max_uses: int = 50
    code_min_new_customers: int = 10
    code_new_share: Decimal = Decimal("0.8")
    new_account_age: timedelta = timedelta(hours=24)


def preflight(terms: DiscountTerms, policy: GuardPolicy) -> tuple[Violation, ...]:
    """What is wrong with a discount's terms, before any order uses it (nothing for an inactive one)."""
    if not terms.active:
        return ()
    found = [
        (policy.require_end_date and terms.ends_at is None, Violation.NO_END_DATE),
        (
            terms.percentage is not None and terms.percentage > policy.max_percentage,
            Violation.ABOVE_MAX_PERCENTAGE,
        ),
        (not policy.allow_combining and terms.combines, Violation.COMBINES),
        (not policy.allow_whole_catalogue and terms.all_items, Violation.WHOLE_CATALOGUE),
        (
            policy.require_usage_limit and terms.is_code and terms.usage_limit is None,
            Violation.NO_USAGE_LIMIT,
        ),
    ]
    return tuple(violation for wrong, violation in found if wrong)


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    price: Decimal
    discount: Decimal


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """One order against the margin guard."""

    gross: Decimal
    discount: Decimal
    #: Discount beyond the allowed maximum share of the gross (0 when inside it).
    excess: Decimal
    #: How far the lines sold below their cost floor fall short of it, in total.
    below_cost: Decimal
    below_cost_skus: tuple[str, ...] = ()

    @property
    def effective(self) -> Decimal:
        return self.discount / self.gross if self.gross else ZERO

    @property
    def violations(self) -> tuple[Violation, ...]:
        found = [
            (self.excess > 0, Violation.ORDER_ABOVE_MAX),
            (self.below_cost > 0, Violation.BELOW_COST_FLOOR),
        ]
        return tuple(v for bad, v in found if bad)


def check_order(lines: Sequence[Line], discount: Decimal, policy: GuardPolicy) -> OrderCheck:
    """The effective discount of an order and each line's net price against its cost floor.

    A line's net price is its price less its own discount allocation; when the order's discount is
    not allocated to lines, each line is taken to carry the order's effective share of it.
    """
    gross = sum((line.price * line.quantity for line in lines), ZERO)
    excess = max(ZERO, discount - policy.max_percentage * gross)
    allocated = sum((line.discount for line in lines), ZERO) > 0
    share = discount / gross if gross else ZERO
    short, skus = ZERO, []
    for line in lines:
        cost = policy.costs.get(line.sku)
        if cost is None or line.quantity <= 0:
            continue
        value = line.price * line.quantity
        net = value - line.discount if allocated else value - value * share
        if net < cost * line.quantity:
            short += cost * line.quantity - net
            skus.append(line.sku)
    return OrderCheck(gross, discount, excess, short, tuple(skus))


@dataclass(frozen=True, slots=True)
class DiscountIncident:
    """One discount gone wrong: when its first bad order came, when it was caught and paused, what it cost."""

    id: str
    shop: str
    discount_gid: str
    title: str
    kind: str
    detected_at: datetime
    currency: str = ""
    first_bad_order_at: datetime | None = None
    money_at_risk: Decimal = ZERO
    below_cost: Decimal = ZERO
    bad_orders: tuple[int, ...] = ()
    violations: tuple[str, ...] = ()
    pause_action_id: str | None = None
    case_id: str | None = None
    #: When Shopify confirmed the pause (read from the pause action's outcome, not stored here).
    paused_at: datetime | None = None

    def with_order(self, order_id: int, ordered_at: datetime, check: OrderCheck) -> DiscountIncident:
        """Add a bad order once; a repeated delivery of the same order changes nothing."""
        if order_id in self.bad_orders:
            return self
        first = ordered_at if self.first_bad_order_at is None else min(self.first_bad_order_at, ordered_at)
        return replace(
            self,
            first_bad_order_at=first,
            money_at_risk=self.money_at_risk + check.excess,
            below_cost=self.below_cost + check.below_cost,
            bad_orders=(*self.bad_orders, order_id),
            violations=tuple(dict.fromkeys((*self.violations, *(v.value for v in check.violations)))),
        )

    @property
    def time_to_pause(self) -> timedelta | None:
        if self.paused_at is None or self.first_bad_order_at is None:
            return None
        return self.paused_at - self.first_bad_order_at


@dataclass(frozen=True, slots=True)
class DiscountRecord:
    """A discount the desk has heard of, and what it found when it last read its terms."""

    shop: str
    gid: str
    title: str
    status: str
    seen_at: datetime
    terms: DiscountTerms | None = None
    needs_terms: bool = True
    checked_at: datetime | None = None
    violations: tuple[str, ...] = ()

    def matches(self, applied: str) -> bool:
        """Whether an order's applied discount (a title or a code) is this discount."""
        key = applied.strip().casefold()
        codes = self.terms.codes if self.terms else ()
        return key == self.title.strip().casefold() or key in (c.casefold() for c in codes)
