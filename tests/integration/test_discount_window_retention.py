"""Discount window retention (ADR 0022): rate windows go once they ended past the horizon, unless an open
rate or code-abuse incident of their shop stands on them; read along their start, so that a round reads
only what it deletes and what open incidents hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsdesk.domain.discount_windows import RateWindow
from opsdesk.domain.discounts import DiscountIncident, GuardPolicy
from opsdesk.domain.records import CaseRecord, Timer
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.cases import CaseHooks, act, open_case
from opsdesk.services.discount_incidents import list_incidents
from opsdesk.services.discount_retention import DISCOUNT_RETENTION, SUBJECT, DiscountWindowRetention
from opsdesk.testing import ManualClock
from tests.contract.transactions import read, write
from tests.integration.discount_pickup_harness import LineSpec, fake_admin, order_payload, scenario
from tests.integration.retention_harness import sweep_round

__all__ = ["fake_admin"]

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY, WINDOW = timedelta(days=1), timedelta(minutes=15)
#: 15-minute windows, four of baseline: the detectors read 75 minutes back; the housekeeping keeps two days.
POLICY = GuardPolicy(window=WINDOW, baseline_windows=4)
OLD = NOW - 3 * DAY  # a window boundary (NOW is on one)


def window(shop: str, start: datetime, subject: str = "") -> RateWindow:
    return RateWindow(shop, subject, start, 3, 1, Decimal("90.00"), Decimal("10.00"), start + timedelta(minutes=1))


def incident(uow: UnitOfWork, shop: str, kind: str, first_bad: datetime, resolved: bool = False) -> None:
    hooks = CaseHooks()
    case = open_case(uow, CaseRecord(f"case-{shop}", shop, "discount", "pricing", "t", "r", first_bad), hooks, NOW)
    if resolved:
        act(uow, case.id, "resolve", "paula", NOW, hooks, resolution="no_action", note="checked")
    uow.discounts.put_incident(DiscountIncident(f"{kind}-{shop}", shop, "", "Sale", kind, first_bad + WINDOW,
                                                first_bad_order_at=first_bad, case_id=case.id))


def store(uow: UnitOfWork) -> None:
    for shop in ("a", "held", "done", "glitch"):
        for n in range(8):  # two hours of windows, three days ago, shop-wide and one code's
            uow.discounts.put_window(window(shop, OLD + n * WINDOW))
            uow.discounts.put_window(window(shop, OLD + n * WINDOW, "code:SAVE"))
        uow.discounts.put_window(window(shop, OLD - DAY))
    for start in (NOW - 2 * DAY - WINDOW - timedelta(minutes=1), NOW - 2 * DAY - WINDOW, NOW - DAY):
        uow.discounts.put_window(window("a", start))  # ended 61 s before the horizon, at it, a day after
    # Open: holds its shop's windows from the baseline before its first bad order (OLD + 1 h - 4 windows = OLD).
    incident(uow, "held", "rate", OLD + timedelta(hours=1, minutes=5))
    incident(uow, "done", "code_abuse", OLD + timedelta(hours=1), resolved=True)  # over: holds nothing
    incident(uow, "glitch", "glitch", OLD + timedelta(hours=1))  # open, but no detector's window


def left(db: Database) -> dict[str, int]:
    found: dict[str, int] = {}
    for w in read(db, lambda uow: uow.discounts.old_windows(NOW + DAY, None, 1000)):
        found[w.shop] = found.get(w.shop, 0) + 1
    return found


def test_windows_past_the_horizon_go_unless_an_open_incident_of_their_shop_stands_on_them(any_db: Database) -> None:
    write(any_db, store)
    retention = DiscountWindowRetention(2 * DAY, POLICY, batch=10)

    # 4 shops x 17 old windows and shop a's one just past the horizon: 69 read, ten a page; the held ones too.
    assert sweep_round(any_db, ManualClock(NOW), retention) == 7
    assert left(any_db) == {"a": 2, "held": 16}  # a: at the horizon and a day later; held: all but the day before
    [timer] = read(any_db, lambda uow: uow.timers.pending(SUBJECT))
    assert (timer.kind, timer.due_at, timer.payload) == (DISCOUNT_RETENTION, NOW + retention.every, {})


def test_the_next_round_reads_only_the_held_windows_and_those_past_the_horizon_since(any_db: Database) -> None:
    write(any_db, store)
    retention = DiscountWindowRetention(2 * DAY, POLICY, batch=10)
    clock = ManualClock(NOW)
    sweep_round(any_db, clock, retention)
    clock.set(NOW + DAY + 2 * WINDOW)  # shop a's two later windows are past the horizon now too

    assert read(any_db, lambda uow: len(uow.discounts.old_windows(NOW - DAY + WINDOW, None, 1000))) == 18
    assert sweep_round(any_db, clock, retention) == 2  # 18 windows: one full page, then 8, and the round ends
    assert left(any_db) == {"held": 16}


def test_a_longer_baseline_than_the_housekeeping_horizon_keeps_the_windows_longer() -> None:
    policy = GuardPolicy(window=timedelta(hours=1), baseline_windows=24 * 40)
    assert DiscountWindowRetention(2 * DAY, policy).keep == 2 * (24 * 40 + 1) * timedelta(hours=1)
    assert DiscountWindowRetention(60 * DAY, POLICY).keep == 60 * DAY


# Through the composition root: a rate anomaly's windows stay while its cases are open


START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_desk_keeps_an_open_rate_incidents_windows_and_deletes_them_once_its_cases_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    guard = {"window_minutes": 5, "min_baseline_windows": 6, "rate_min_orders": 4, "max_percentage": 60}
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard=guard)
    for minute in range(60):  # as in test_discount_detectors: a 45%-off sale in the last quarter hour
        at = run.clock.now()
        share = Decimal("0.45") if minute >= 45 else Decimal("0.05") if minute % 2 else Decimal("0.10")
        payload = order_payload(minute, at, (LineSpec("TEE-BLK-M", Decimal("40.00")),),
                                discount=(Decimal("40.00") * share).quantize(Decimal("0.01")), automatic="Sale")
        run.deliver("orders/create", payload, at + timedelta(seconds=2))
        run.run_until(at + timedelta(seconds=55), step=timedelta(seconds=30))
    windows = read(run.desk.db, lambda uow: uow.discounts.old_windows(START + DAY, None, 1000))
    assert len(windows) == 12 and len(read(run.desk.db, list_incidents)) == 3

    housekeeping = run.desk.sweeper("hk", housekeeping=True)
    run.clock.set(START + 61 * DAY)  # the starter playbooks' horizon is 60 days: every window is past it
    while housekeeping.run_once():
        pass
    assert read(run.desk.db, lambda uow: uow.discounts.old_windows(START + DAY, None, 1000)) == windows

    def resolve_all(uow: UnitOfWork) -> None:
        for found in list_incidents(uow):
            act(uow, str(found.case_id), "resolve", "paula", run.clock.now(), run.desk.case_hooks,
                resolution="no_action", note="the sale was planned")

    write(run.desk.db, resolve_all)
    run.clock.advance(hours=1)
    while housekeeping.run_once():
        pass
    assert read(run.desk.db, lambda uow: uow.discounts.old_windows(START + DAY, None, 1000)) == []
    assert [t.kind for t in read(run.desk.db, lambda uow: uow.timers.pending(SUBJECT))] == [DISCOUNT_RETENTION]


def test_a_round_resumes_after_the_window_it_read_last(any_db: Database) -> None:
    write(any_db, lambda uow: [uow.discounts.put_window(window("a", OLD + n * WINDOW)) for n in range(3)])
    write(any_db, lambda uow: uow.timers.schedule([Timer(DISCOUNT_RETENTION, DISCOUNT_RETENTION, SUBJECT, NOW,
                                                         {"start": OLD.isoformat(), "shop": "a", "subject": ""})]))
    sweep_round(any_db, ManualClock(NOW), DiscountWindowRetention(2 * DAY, POLICY))
    assert [w.start for w in read(any_db, lambda uow: uow.discounts.old_windows(NOW, None, 10))] == [OLD]


def test_remove_windows_deletes_exactly_the_windows_named(any_db: Database) -> None:
    stored = [window(shop, OLD + n * WINDOW, subject) for shop in ("a", "b") for subject in ("", "code:X")
              for n in range(3)]
    write(any_db, lambda uow: [uow.discounts.put_window(w) for w in stored])
    named = [stored[0], stored[4], stored[11], window("c", OLD)]  # the last one was never stored

    assert write(any_db, lambda uow: uow.discounts.remove_windows(named)) == 3
    assert read(any_db, lambda uow: uow.discounts.old_windows(NOW, None, 100)) == sorted(
        (w for w in stored if w not in named), key=lambda w: (w.start, w.shop, w.subject))
