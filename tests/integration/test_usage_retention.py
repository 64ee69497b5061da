"""The usage retention sweep: windowed counters go once nothing can read them again, and nothing else goes.

The sweep runs as the desk's timer sweeper runs it (``housekeeping=True``), on every backend; the guardrail
case goes through the real composition root, the starter playbooks and the pipeline on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.policies import Guardrail, Scope, Usage
from opsdesk.domain.records import Timer
from opsdesk.engine.timers import TimerSweeper
from opsdesk.ports import Database
from opsdesk.services import monitors
from opsdesk.services.discount_retention import DISCOUNT_RETENTION
from opsdesk.services.followup_retention import FOLLOWUP_RETENTION
from opsdesk.services.reconcile import MARK_PREFIX
from opsdesk.services.usage_retention import (
    RETENTION,
    SUBJECT,
    TIMER_RETENTION,
    UsageRetention,
    window_started,
)
from opsdesk.testing import InMemoryDatabase, ManualClock, sign
from tests.contract.transactions import read, write
from tests.integration.desk_harness import make_desk
from tests.integration.retention_harness import sweep_round
from tests.pipeline_harness import feed
from tests.samples import SECRET, SHOP, order_lifecycle

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def test_the_windowed_rows_are_those_the_guardrails_and_monitors_count_in_a_window() -> None:
    db = InMemoryDatabase()
    per_day, lifetime = Guardrail(Scope.CUSTOMER, DAY, max_count=2), Guardrail(Scope.SHOP, None, max_count=9)
    write(db, lambda uow: monitors.count_many(uow, {"carrier|ups|attempts": 1}, NOW, timedelta(minutes=10)))
    counters = read(db, lambda uow: uow.usage.keys("", 10))
    today = stamp(monitors.window_start(NOW, DAY))

    assert window_started(per_day.usage_key("refunds", "c|1@example.com", NOW)) == today  # an email with a |
    assert window_started(Guardrail(Scope.SHOP, DAY).usage_key("r", SHOP, NOW)) == today
    assert [window_started(k) for k in counters] == [stamp(monitors.window_start(NOW, timedelta(minutes=10)))]
    assert [window_started(k) for k in (
        lifetime.usage_key("refunds", SHOP, NOW),  # a cap without a period: its row is for ever
        f"followup|{SHOP}|4783296544821",  # a late order's follow-up progress (services/followups.py)
        f"followup|{SHOP}|{today}",
        MARK_PREFIX + SHOP,
        "monitor|email|messages|²",
    )] == [None] * 5


def rows(day_ago: float) -> dict[str, Usage]:
    """A guardrail and a monitor counter whose windows began ``day_ago`` days before NOW."""
    began = stamp(NOW - day_ago * DAY)
    return {f"refunds|customer|c1@example.com|{began}": Usage(1, Decimal("19.99")),
            f"monitor|carrier|ups|attempts|{began}": Usage(4)}


def test_a_sweep_deletes_the_rows_whose_window_began_two_longest_windows_ago_a_page_at_a_time(
    any_db: Database,
) -> None:
    expired = {**rows(3), **rows(2)}  # two days: the longest window (1 day), then as long again
    kept = {**rows(2 - 1 / 86400), **rows(1), **rows(0),
            "refunds|shop|-": Usage(7), f"followup|{SHOP}|{stamp(NOW - 9 * DAY)}": Usage(2, Decimal(1)),
            MARK_PREFIX + SHOP: Usage(3, Decimal(stamp(NOW - 9 * DAY)))}
    write(any_db, lambda uow: uow.usage.put_many({**expired, **kept}))
    retention = UsageRetention(longest=DAY, batch=3)

    firings = sweep_round(any_db, ManualClock(NOW), retention)

    assert firings == 5  # 13 keys, 3 a page: the fifth page is short and ends the round
    assert sorted(read(any_db, lambda uow: uow.usage.keys("", 100))) == sorted(kept)
    assert read(any_db, lambda uow: uow.usage.get_many(kept)) == kept
    assert read(any_db, lambda uow: uow.timers.pending(SUBJECT)) == [
        Timer(RETENTION, RETENTION, SUBJECT, NOW + retention.every, {"after": ""})]


def test_a_sweep_reads_one_page_per_firing_and_goes_on_after_the_last_key_it_read(any_db: Database) -> None:
    write(any_db, lambda uow: uow.usage.put_many({f"monitor|email|messages|{n}": Usage(n) for n in range(10, 17)}))
    clock = ManualClock(NOW)
    retention = UsageRetention(longest=DAY, batch=3)
    sweeper = TimerSweeper(any_db, retention.timer_handlers, clock, worker="w", standing=(retention.first,))

    assert sweeper.run_once() == 1
    [timer] = read(any_db, lambda uow: uow.timers.pending(SUBJECT))
    assert (timer.due_at, timer.payload) == (NOW, {"after": "monitor|email|messages|12"})
    assert sorted(read(any_db, lambda uow: uow.usage.keys("", 100))) == [
        f"monitor|email|messages|{n}" for n in range(13, 17)]


def test_the_sweeper_leaves_a_sweep_already_pending_where_it_is(any_db: Database) -> None:
    retention = UsageRetention(longest=DAY)
    later = Timer(RETENTION, RETENTION, SUBJECT, NOW + DAY, {"after": "monitor|"})
    write(any_db, lambda uow: uow.timers.schedule([later]))

    sweeper = TimerSweeper(any_db, retention.timer_handlers, ManualClock(NOW), worker="w", standing=(retention.first,))
    assert sweeper.run_once() == 0
    assert read(any_db, lambda uow: uow.timers.pending(SUBJECT)) == [later]


def test_the_desk_arms_every_housekeeping_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = make_desk(tmp_path, monkeypatch)
    kinds = {make(NOW).kind for make in desk.standing_timers}
    assert kinds == {RETENTION, TIMER_RETENTION, FOLLOWUP_RETENTION, DISCOUNT_RETENTION}
    assert kinds <= desk.timer_handlers.keys()


# The guardrail cap across the sweep, through the composition root


def same_customer(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deliveries of other orders, made the first customer's (c1, id 9000001), signed again."""
    for d in deliveries:
        for n in (2, 3):
            d["body"] = d["body"].replace(f'"id":{9_000_000 + n}', '"id":9000001')
        d["headers"]["X-Shopify-Hmac-Sha256"] = sign(d["body"].encode(), SECRET)
    return deliveries


def test_a_refund_cap_per_customer_holds_when_the_sweep_runs_at_the_end_of_its_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """refunds.yaml: two refunds per customer per 30 days. Shorter windows are configured too (a day per
    shop, ten minutes for the carriers): a sweep that kept rows only that long would forget the cap."""
    period = timedelta(days=30)
    window = EPOCH + (NOW - EPOCH) // period * period
    clock = ManualClock(window + timedelta(hours=1))
    desk = make_desk(tmp_path, monkeypatch, clock=clock)
    sweeper = desk.sweeper("test", housekeeping=True)
    customer = f"auto-refund-simple-purchase-error|customer|9000001|{stamp(window)}"

    feed(desk.db, same_customer(order_lifecycle(1, base=clock.now())[:6] + order_lifecycle(2, base=clock.now())[:6]),
         clock)
    assert (desk.process_pending().automated, read(desk.db, lambda uow: uow.usage.get_many([customer]))) == (
        2, {customer: Usage(2, Decimal("39.98"))})

    clock.set(window + period - timedelta(minutes=1))
    while sweeper.run_once():  # the sweep, armed and fired (with the orders' stuck-order timers)
        pass
    feed(desk.db, same_customer(order_lifecycle(3, base=clock.now())[:6]), clock)
    report = desk.process_pending()

    assert (report.automated, report.escalated) == (0, 1)
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = [c for c in uow.cases.list_open() if c.queue == "refunds"]
    assert case.reason.startswith("guardrail: count 3 would exceed 2 (customer per 30 days")

    clock.set(window + 2 * period - timedelta(seconds=1))  # the row's window ended 30 days ago: kept still
    sweeper.run_once()
    assert read(desk.db, lambda uow: uow.usage.get_many([customer])) == {customer: Usage(2, Decimal("39.98"))}
    clock.set(window + 2 * period + timedelta(hours=1))
    sweeper.run_once()
    assert read(desk.db, lambda uow: uow.usage.get_many([customer])) == {}
