"""Delivery retention (ADR 0025): decided and ignored raw deliveries go ``retention.deliveries_days`` after
they arrived, a page at a time; what the desk made of them stays, and nothing still to do or to show goes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import CaseFilter, RawDelivery, Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.usage_retention import DELIVERY_RETENTION, DELIVERY_SUBJECT, DeliveryRetention
from opsdesk.testing import ManualClock
from tests.contract.transactions import read, write
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed
from tests.samples import SHOP, order_lifecycle

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KEEP = timedelta(days=31)
#: (status, days before NOW it arrived), in arrival order; the horizon is 31 days back.
ROWS = [("processed", 40), ("ignored", 39), ("failed", 38), ("held", 37), ("waiting", 36), ("pending", 35),
        ("processed", 34), ("ignored", 33), ("processed", 31.5), ("processed", 30), ("ignored", 2)]


def store_rows(uow: UnitOfWork) -> None:
    stored = uow.deliveries.store([
        RawDelivery(SHOP, f"w{n}", "orders/updated", b"{}", NOW - timedelta(days=age))
        for n, (_, age) in enumerate(ROWS)])
    for row, (status, _) in zip(stored, ROWS, strict=True):
        if status != "pending":
            uow.deliveries.mark_processed([row.id], status, "order:1" if status == "waiting" else "")


def statuses(db: Database) -> list[str]:
    def all_rows(uow: UnitOfWork) -> list[str]:
        return [s for s in ("processed", "ignored", "failed", "held", "waiting", "pending")
                for _ in range(uow.deliveries.count(s))]
    return sorted(read(db, all_rows))


def test_decided_and_ignored_deliveries_past_the_horizon_go_and_nothing_else(any_db: Database) -> None:
    write(any_db, store_rows)
    retention = DeliveryRetention(KEEP, batch=4)
    sweeper = TimerSweeper(any_db, retention.timer_handlers, ManualClock(NOW), worker="w", standing=(retention.first,))
    firings = 0
    while sweeper.run_once():
        firings += 1

    # Pages of 4: rows 1-4, 5-8, then 9 and the tenth, which arrived after the horizon: the round ends there.
    assert firings == 3
    assert statuses(any_db) == sorted(["failed", "held", "waiting", "pending", "processed", "ignored"])
    [timer] = read(any_db, lambda uow: uow.timers.pending(DELIVERY_SUBJECT))
    # The next round, an hour later, starts after the last row it passed (the ninth): never from the start.
    ninth = read(any_db, lambda uow: uow.deliveries.pending(1)[0].id) + 3  # the sixth row is the pending one
    assert (timer.kind, timer.due_at, timer.payload) == (DELIVERY_RETENTION, NOW + retention.every, {"after": ninth})
    assert read(any_db, lambda uow: uow.deliveries.get(ninth + 1)).delivery.webhook_id == "w9"


def sweeper_past_a_delivery_still_to_do(db: Database, clock: ManualClock) -> TimerSweeper:
    """A delivery still to do, twice the horizon old, and a first round of the sweep that passed it."""
    late = RawDelivery(SHOP, "late", "orders/updated", b"{}", NOW - 2 * KEEP)
    write(db, lambda uow: uow.deliveries.store([late]))
    retention = DeliveryRetention(KEEP)
    sweeper = TimerSweeper(db, retention.timer_handlers, clock, worker="w", standing=(retention.first,))
    while sweeper.run_once():
        pass
    assert statuses(db) == ["pending"]  # still to do: kept
    write(db, lambda uow: uow.deliveries.mark_processed([uow.deliveries.pending(1)[0].id]))  # decided now
    return sweeper


def test_a_delivery_decided_later_goes_in_a_later_round(any_db: Database) -> None:
    sweeper = sweeper_past_a_delivery_still_to_do(any_db, ManualClock(NOW))
    # The first round passed it (its cursor is beyond it); it goes in a round that starts from the first row
    # again, which takes a timer armed afresh (here by hand: a sweeper that starts keeps the pending one).
    write(any_db, lambda uow: uow.timers.schedule([Timer(DELIVERY_RETENTION, DELIVERY_RETENTION, DELIVERY_SUBJECT,
                                                         NOW, {"after": 0})]))
    while sweeper.run_once():
        pass
    assert statuses(any_db) == []


def test_a_sweeper_that_starts_again_keeps_the_cursor_of_the_pending_sweep(any_db: Database) -> None:
    """ADR 0025: the cursor survives a restart; the standing timer is armed afresh only when none is pending."""
    clock = ManualClock(NOW)
    sweeper_past_a_delivery_still_to_do(any_db, clock)
    [passed] = read(any_db, lambda uow: uow.timers.pending(DELIVERY_SUBJECT))

    retention = DeliveryRetention(KEEP)
    clock.set(NOW + retention.every)  # the worker starts again an hour later
    again = TimerSweeper(any_db, retention.timer_handlers, clock, worker="w2", standing=(retention.first,))
    while again.run_once():
        pass

    assert statuses(any_db) == ["processed"]  # decided after the cursor passed it: kept by this round too
    [timer] = read(any_db, lambda uow: uow.timers.pending(DELIVERY_SUBJECT))
    assert timer.payload == passed.payload != {"after": 0}


def test_the_desk_keeps_decisions_orders_and_cases_when_their_deliveries_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(NOW - timedelta(days=40))
    desk = make_desk(tmp_path, monkeypatch, clock=clock, retention={"deliveries_days": 31})
    assert DELIVERY_RETENTION in {make(NOW).kind for make in desk.standing_timers}
    feed(desk.db, [d for n in (1, 2, 3) for d in order_lifecycle(n, base=clock.now(), price="80.00")[:6]], clock)
    desk.process_pending()

    def kept(uow: UnitOfWork) -> tuple[set[str], set[str], int]:
        orders = uow.orders.search("c1@example.com")
        decisions = {d.id for o in orders for d in uow.decisions.for_order(o.shop, o.order_id)}
        return decisions, {c.id for c in uow.cases.search(CaseFilter(active_only=False), 100)}, len(orders)

    decisions, cases, orders = read(desk.db, kept)
    assert read(desk.db, lambda uow: uow.deliveries.count()) >= 18 and decisions and cases and orders == 1
    clock.set(NOW)
    sweeper = desk.sweeper(housekeeping=True)
    while sweeper.run_once():
        pass
    assert read(desk.db, lambda uow: uow.deliveries.count()) == 0
    after = read(desk.db, kept)  # the timers that fired meanwhile may have added some: none went
    assert decisions <= after[0] and cases <= after[1] and after[2] == 1


def test_a_retention_shorter_than_31_days_is_refused_with_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidInput, match=r"opsdesk.yaml:\d+:\d+: retention.deliveries_days"):
        make_desk(tmp_path, monkeypatch, retention={"deliveries_days": 30})
