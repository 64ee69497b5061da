"""What one batch of the discount guard reads: each read once, and kept right as the batch's own orders count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from opsdesk.domain.discount_windows import RateWindow, baseline, rate_anomaly
from opsdesk.domain.discounts import GuardPolicy
from opsdesk.services.discount_batch import SHOP_WIDE, BatchState
from opsdesk.testing import InMemoryDatabase

SHOP = "alpha.myshopify.com"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def at(n: int) -> datetime:
    return T0 + n * WINDOW


def stored(n: int, revenue: str, discount: str, subject: str = SHOP_WIDE) -> RateWindow:
    return RateWindow(SHOP, subject, at(n), 1, 0, Decimal(revenue), Decimal(discount), at(n))


def test_the_history_counts_the_windows_the_batch_changed_before_it_and_not_the_current_one() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        for window in (stored(0, "90", "10"), stored(1, "80", "20"), stored(3, "50", "50")):
            uow.discounts.put_window(window)
        uow.commit()
    with db.unit_of_work() as uow:
        batch = BatchState(uow)
        assert batch.shares_before(SHOP, at(0), at(3)) == [Decimal("0.1"), Decimal("0.2")]
        assert batch.get(SHOP, SHOP_WIDE, at(3)) == stored(3, "50", "50")  # from the history read above
        # An order of an earlier window (a late one) changes that window: the history of window 3 follows.
        batch.put(batch.get(SHOP, SHOP_WIDE, at(1)).add(Decimal("0"), Decimal("100"), False, at(1)))
        assert batch.shares_before(SHOP, at(0), at(3)) == [Decimal("0.1"), Decimal("0.6")]
        # A window new to the batch counts too, from its first order on.
        batch.put(batch.get(SHOP, SHOP_WIDE, at(2)).add(Decimal("30"), Decimal("10"), False, at(2)))
        assert batch.shares_before(SHOP, at(0), at(3)) == [Decimal("0.1"), Decimal("0.6"), Decimal("0.25")]
        # The current window and other subjects' windows are not history.
        batch.put(batch.get(SHOP, SHOP_WIDE, at(3)).add(Decimal("0"), Decimal("100"), False, at(3)))
        batch.put(batch.get(SHOP, "code:SPRING", at(2)).add(Decimal("0"), Decimal("100"), False, at(2)))
        assert batch.shares_before(SHOP, at(0), at(3)) == [Decimal("0.1"), Decimal("0.6"), Decimal("0.25")]
        assert sorted(batch.shares_before(SHOP, at(1), at(4))) == [Decimal("0.25"), Decimal("0.6"), Decimal("0.75")]
        assert batch.baseline(SHOP, at(1), at(4)) == baseline([Decimal("0.6"), Decimal("0.25"), Decimal("0.75")])
        batch.put(batch.get(SHOP, SHOP_WIDE, at(2)).add(Decimal("0"), Decimal("60"), False, at(2)))  # 70 of 100
        assert batch.baseline(SHOP, at(1), at(4)) == (Decimal("0.7"), Decimal("0.05"))
        batch.flush()
        uow.commit()
    with db.unit_of_work() as uow:
        assert [w.share for w in uow.discounts.windows(SHOP, SHOP_WIDE, at(0))] == [
            Decimal("0.1"), Decimal("0.6"), Decimal("0.7"), Decimal("0.75")
        ]


def test_costs_are_read_for_the_whole_batch_and_again_after_a_cost_is_heard() -> None:
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.discounts.put_cost(SHOP, "MUG", Decimal("6.00"), T0)
        uow.commit()
    with db.unit_of_work() as uow:
        batch = BatchState(uow)
        batch.read_costs({SHOP: {"MUG", "CUP"}})
        assert batch.costs(SHOP, ["MUG", "CUP"]) == {"MUG": Decimal("6.00")}
        uow.discounts.put_cost(SHOP, "CUP", Decimal("2.50"), at(1))
        batch.cost_changed(SHOP, "CUP")
        assert batch.costs(SHOP, ["MUG", "CUP"]) == {"MUG": Decimal("6.00"), "CUP": Decimal("2.50")}


def test_a_rate_anomaly_is_the_same_with_the_baseline_given_or_worked_out() -> None:
    history = [Decimal(x) / 100 for x in (10, 12, 9, 11, 10, 13, 8, 10, 11)]
    policy = GuardPolicy()
    for share, orders in ((Decimal("0.45"), 10), (Decimal("0.15"), 10), (Decimal("0.45"), 4)):
        for past in (history, history[:7]):
            given = rate_anomaly(past, share, orders, policy, baseline(past))
            assert given == rate_anomaly(past, share, orders, policy)
    assert rate_anomaly(history, Decimal("0.45"), 10, policy, baseline(history))
