"""The pure discount guardrails: preflight, margin guard, robust baseline, code abuse, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.config_discounts_pickups import DiscountGuardConfig, build_guard_policy
from opsdesk.domain.discount_windows import baseline, code_abuse, rate_anomaly, unusual_use, window_start
from opsdesk.domain.discounts import (
    DiscountIncident,
    DiscountRecord,
    DiscountTerms,
    GuardPolicy,
    Line,
    Violation,
    check_order,
    preflight,
)
from opsdesk.services.cases import CaseHooks
from opsdesk.services.discounts import DiscountGuard
from opsdesk.testing import InMemoryDatabase

AT = datetime(2026, 3, 2, 10, 7, 31, tzinfo=UTC)
POLICY = GuardPolicy(max_percentage=Decimal("0.5"), costs={"MUG": Decimal("6.00")})


def terms(**changes: object) -> DiscountTerms:
    base = {
        "gid": "gid://shopify/DiscountCodeNode/1",
        "title": "SPRING",
        "status": "ACTIVE",
        "percentage": Decimal("0.2"),
        "ends_at": AT + timedelta(days=7),
        "usage_limit": 100,
        "combines": False,
        "all_items": True,
    }
    return DiscountTerms(**{**base, **changes})  # type: ignore[arg-type]


def test_the_preflight_names_every_term_outside_the_policy() -> None:
    assert preflight(terms(), POLICY) == ()
    assert preflight(
        terms(percentage=Decimal("0.9"), ends_at=None, usage_limit=None, combines=True), POLICY
    ) == (Violation.NO_END_DATE, Violation.ABOVE_MAX_PERCENTAGE, Violation.COMBINES, Violation.NO_USAGE_LIMIT)
    strict = GuardPolicy(allow_whole_catalogue=False)
    assert preflight(terms(), strict) == (Violation.WHOLE_CATALOGUE,)
    # Automatic discounts have no usage limit; an inactive discount is not checked at all.
    assert preflight(terms(gid="gid://shopify/DiscountAutomaticNode/1", usage_limit=None), POLICY) == ()
    assert preflight(terms(status="EXPIRED", percentage=Decimal("0.9")), POLICY) == ()


def test_the_margin_guard_reports_the_excess_over_the_maximum_share_exactly() -> None:
    lines = [Line("TEE", 1, Decimal("25.00"), Decimal(0)), Line("MUG", 2, Decimal("12.50"), Decimal(0))]
    check = check_order(lines, Decimal("45.00"), POLICY)
    assert (check.gross, check.effective, check.excess) == (
        Decimal("50.00"),
        Decimal("0.9"),
        Decimal("20.00"),
    )
    # The mugs, sold at 10% of 12.50 each, fall 4.75 short of their 6.00 cost each.
    assert (check.below_cost, check.below_cost_skus) == (Decimal("9.50"), ("MUG",))
    assert check.violations == (Violation.ORDER_ABOVE_MAX, Violation.BELOW_COST_FLOOR)
    assert check_order(lines, Decimal("5.00"), POLICY).violations == ()


def test_line_allocations_are_used_for_the_cost_floor_when_the_order_has_them() -> None:
    lines = [Line("TEE", 1, Decimal("25.00"), Decimal(0)), Line("MUG", 1, Decimal("12.50"), Decimal("8.00"))]
    check = check_order(lines, Decimal("8.00"), POLICY)
    assert (check.excess, check.below_cost) == (Decimal(0), Decimal("1.50"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.decimals("0.01", "500", places=2)), min_size=1, max_size=6),
    st.decimals("0", "1", places=2),
    st.decimals("0", "1", places=2),
)
def test_the_excess_is_never_negative_and_is_exactly_the_discount_above_the_allowed_share(
    items: list[tuple[int, Decimal]], off: Decimal, maximum: Decimal
) -> None:
    lines = [Line(f"S{i}", q, p, Decimal(0)) for i, (q, p) in enumerate(items)]
    gross = sum((p * q for q, p in items), Decimal(0))
    discount = gross * off
    check = check_order(lines, discount, GuardPolicy(max_percentage=maximum))
    assert check.excess >= 0
    assert check.excess == (discount - gross * maximum if off > maximum else 0)
    assert (Violation.ORDER_ABOVE_MAX in check.violations) == (off > maximum)


def test_the_baseline_ignores_one_odd_window_and_the_detector_needs_history_and_volume() -> None:
    history = [
        Decimal("0.10"),
        Decimal("0.12"),
        Decimal("0.08"),
        Decimal("0.11"),
        Decimal("0.09"),
        Decimal("0.10"),
        Decimal("0.95"),
        Decimal("0.10"),
    ]
    assert baseline(history) == (Decimal("0.10"), Decimal("0.01"))
    policy = GuardPolicy(min_baseline_windows=8, rate_min_orders=5)
    assert rate_anomaly(history, Decimal("0.45"), 10, policy)
    assert not rate_anomaly(history, Decimal("0.15"), 10, policy)  # within the noise
    assert not rate_anomaly(history, Decimal("0.45"), 4, policy)  # too few orders to say
    assert not rate_anomaly(history[:7], Decimal("0.45"), 10, policy)  # too little history


def test_code_abuse_is_a_usage_spike_or_a_leak_to_new_accounts() -> None:
    policy = GuardPolicy(code_max_uses=50, code_min_new_customers=10, code_new_share=Decimal("0.8"))
    assert code_abuse(51, 0, policy) == "used 51 times in one window (more than 50)"
    assert code_abuse(12, 10, policy) == "10 of 12 uses in one window by accounts created just before"
    assert code_abuse(20, 10, policy) == ""  # half the uses by old customers: a promotion that works
    assert code_abuse(9, 9, policy) == ""


def test_many_uses_of_a_code_are_a_spike_only_above_its_usual_share_of_the_orders() -> None:
    policy = GuardPolicy(code_max_uses=50, min_baseline_windows=4, rate_mads=Decimal(5))
    everyday = [Decimal("0.08"), Decimal("0.07"), Decimal("0.09"), Decimal("0.08"), Decimal("0.10")]
    assert not unusual_use(everyday, Decimal("0.11"), policy)  # a big shop's busy window: 110 uses of 1,000
    assert unusual_use(everyday, Decimal("0.40"), policy)
    assert unusual_use([Decimal(0)] * 4, Decimal("0.06"), policy)  # a code nobody used before
    assert not unusual_use([Decimal(0)] * 3, Decimal("0.06"), policy)  # no usual share to compare with yet
    assert code_abuse(110, 0, policy, unusual=False) == ""
    assert (
        code_abuse(12, 10, policy, unusual=False)
        == "10 of 12 uses in one window by accounts created just before"
    )


def test_an_incident_counts_each_bad_order_once_and_remembers_the_first() -> None:
    lines = [Line("TEE", 1, Decimal("40.00"), Decimal(0))]
    check = check_order(lines, Decimal("36.00"), POLICY)
    incident = DiscountIncident("i", "s", "g", "t", "glitch", AT)
    incident = incident.with_order(2, AT, check).with_order(1, AT - timedelta(minutes=1), check)
    assert incident.with_order(2, AT, check) == incident
    assert (incident.money_at_risk, incident.bad_orders, incident.first_bad_order_at) == (
        Decimal("32.00"),
        (2, 1),
        AT - timedelta(minutes=1),
    )


def test_orders_name_a_discount_by_title_or_by_one_of_its_codes() -> None:
    record = DiscountRecord(
        "s",
        "gid://shopify/DiscountCodeNode/1",
        "Spring promo",
        "ACTIVE",
        AT,
        terms=terms(codes=("SPRING20",)),
    )
    assert record.matches(" spring PROMO") and record.matches("spring20") and not record.matches("SUMMER")


def test_windows_are_fixed_and_aligned_to_the_epoch() -> None:
    assert window_start(AT, timedelta(minutes=15)) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_configuration_is_in_percent_and_names_the_violations_that_may_pause() -> None:
    policy = build_guard_policy(DiscountGuardConfig(max_percentage=Decimal(35), pause_on=["order_above_max"]))
    assert policy.max_percentage == Decimal("0.35") and policy.pause_on == frozenset(
        {Violation.ORDER_ABOVE_MAX}
    )


def test_terms_of_a_kind_the_query_does_not_read_keep_the_webhooks_title_and_status() -> None:
    db = InMemoryDatabase()
    guard = DiscountGuard(GuardPolicy(), CaseHooks)
    heard = DiscountRecord("s", "gid://shopify/DiscountAutomaticNode/9", "Buy 2 get 1", "ACTIVE", AT)
    with db.unit_of_work() as uow:
        uow.discounts.put(heard)
        guard.checked(uow, heard, DiscountTerms(heard.gid, "", ""), AT + timedelta(seconds=5))
        stored = uow.discounts.find("s", heard.gid)
    assert stored is not None and (stored.title, stored.status, stored.needs_terms) == (
        "Buy 2 get 1",
        "ACTIVE",
        False,
    )
