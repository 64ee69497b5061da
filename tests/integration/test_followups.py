"""Delayed fulfilment: follow-ups on a cadence until the order ships, in the customer's waking hours, one
per customer per day, and a case in `fulfilment` once the delay passes the threshold.

Driven by Shopify's `orders/paid` and `fulfillments/create` samples through the real intake path, a real
SQLite file and the local SMTP stand-in, on a manual clock. The shop promises shipping 48 hours after the
order (``handling_hours``), so an order placed Monday 10:00 in New York is due to ship Wednesday 10:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services.cases import act
from tests.integration.fulfilment_harness import (
    ORDER_ID,
    START,
    Run,
    audit_actions,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    make_run,
    paid_order,
)
from tests.samples import SHOP, delivery, sample

FOLLOWUPS = {
    "delayed_fulfilment": {"cadence_hours": 24, "case_after_hours": 24, "max_messages": 3},
    "stuck_orders": {"enabled": False},
}
LATE = "Your order #9999 is running late"


@pytest.fixture
def smtp() -> FakeSmtp:
    with FakeSmtp() as fake:
        yield fake  # type: ignore[misc]


def shipment(order_id: int = ORDER_ID) -> dict[str, Any]:
    fulfilment = sample("fulfillments/create")
    fulfilment.update(
        order_id=order_id, status="success", created_at=START.isoformat(), updated_at=START.isoformat()
    )
    return fulfilment


def run_with(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp: FakeSmtp,
    database_url: str | None = None,
    **monitors: Any,
) -> Run:
    return make_run(
        tmp_path, monkeypatch, smtp=smtp, monitors={**FOLLOWUPS, **monitors}, database_url=database_url
    )


def test_follow_ups_go_out_on_a_cadence_then_a_case_and_stop_the_moment_the_order_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, smtp: FakeSmtp
) -> None:
    run = run_with(tmp_path, monkeypatch, smtp, database_url=db_url)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()

    run.advance(hours=47, minutes=59)
    assert run.customer_mail(smtp) == []  # not late yet
    run.advance(minutes=1)  # Wednesday 10:00 New York: the ship-by time
    assert run.customer_mail(smtp) == [LATE]
    [first] = [m for m in smtp.messages if m.subject == LATE]
    assert "by Wednesday 07 January" in first.body and "(5 items)" in first.body
    assert run.cases() == []

    run.advance(hours=24)  # a day late: the second follow-up, and the delay passes the threshold

    assert run.customer_mail(smtp) == [LATE, LATE]
    [case] = run.cases()
    assert (case.queue, case.kind, case.order_id, case.owner) == (
        "fulfilment",
        "fulfilment",
        ORDER_ID,
        "fred",
    )
    assert case.due_at == datetime(2026, 1, 9, 14, 30, tzinfo=UTC)  # 8 business hours: Friday 09:30 New York
    assert case.reason.startswith("24 hours past its ship-by time 2026-01-07T15:00:00+00:00")

    run.feed(delivery("fulfillments/create", shipment(), "w-shipped"))
    run.advance(minutes=1)
    run.advance(days=5)

    assert run.customer_mail(smtp) == [LATE, LATE]  # stopped the moment it shipped
    assert "followup.stopped" in audit_actions(run)
    assert run.cases() == []  # nobody had started on it: the exception is gone, and the case says so
    with run.desk.db.unit_of_work(read_only=True) as uow:
        settled = uow.cases.get(case.id)
        [last] = uow.cases.timeline(case.id)[-1:]
    assert (settled.status, settled.resolution) == (CaseStatus.RESOLVED, "no_action")
    assert (last.actor, last.note) == ("automation", "the order shipped; nothing left to do")
    with run.desk.db.unit_of_work(read_only=True) as uow:  # every step explains itself in the order's history
        decided = [
            (d.playbook, d.rule_id, d.outcome)
            for d in uow.decisions.for_order(SHOP, ORDER_ID)
            if d.playbook == "delayed-fulfilment"
        ]
    assert sorted(decided) == [("delayed-fulfilment", "follow-up", "automate")] * 2 + [
        ("delayed-fulfilment", "late-beyond-threshold", "escalate")
    ]
    with run.desk.db.unit_of_work(read_only=True) as uow:
        assert [t.kind for t in uow.timers.pending(f"order:{SHOP}:{ORDER_ID}") if t.kind == "followup"] == []


def test_a_follow_up_due_at_night_waits_for_morning_in_the_customers_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = run_with(tmp_path, monkeypatch, smtp)
    placed = START.replace(hour=3)  # Monday 19:00 in California: ship-by is Wednesday 19:00 there
    order = paid_order(at=placed)
    order["shipping_address"].update(province_code="CA", province="California", zip="94103")
    run.clock.set(placed)
    run.feed(delivery("orders/paid", order, "w-paid"))
    run.settle()

    run.clock.set(placed + timedelta(hours=48))  # Wednesday 19:00 in California: still awake
    run.settle()
    assert run.customer_mail(smtp) == [LATE]
    run.clock.set(placed + timedelta(hours=72))  # Thursday 19:00 in California (22:00 in the shop's New York)
    run.settle()
    assert run.customer_mail(smtp) == [LATE, LATE]

    quiet = make_quiet_order(run, smtp)
    assert quiet == ["Your order #9999 is running late"]


def make_quiet_order(run: Run, smtp: FakeSmtp) -> list[str]:
    """A second customer in California whose order falls due at 23:00 there: written to at 08:00."""
    placed = run.clock.now().replace(hour=7) + timedelta(days=1)  # Friday 23:00 California
    order = paid_order(8_000_000_001, at=placed, email="night@example.com", name="#9999")
    order["customer"] = {**order["customer"], "id": 77, "email": "night@example.com"}
    order["shipping_address"].update(province_code="CA", zip="94103")
    run.clock.set(placed)
    run.feed(delivery("orders/paid", order, "w-night"))
    run.settle()
    run.clock.set(placed + timedelta(hours=48))  # Sunday 23:00 in California
    run.settle()
    assert run.customer_mail(smtp, "night@example.com") == []
    run.clock.set(placed + timedelta(hours=56, minutes=59))  # Monday 07:59 in California
    run.settle()
    assert run.customer_mail(smtp, "night@example.com") == []
    run.clock.set(placed + timedelta(hours=57))  # Monday 08:00 in California
    run.settle()
    return run.customer_mail(smtp, "night@example.com")


def test_one_customer_with_two_late_orders_gets_one_follow_up_a_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = run_with(
        tmp_path,
        monkeypatch,
        smtp,
        delayed_fulfilment={**FOLLOWUPS["delayed_fulfilment"], "per_customer_hours": 24},
    )
    run.feed(
        delivery("orders/paid", paid_order(), "w-a"),
        delivery("orders/paid", paid_order(8_000_000_002, name="#10000"), "w-b"),
    )
    run.settle()

    run.advance(hours=48)
    assert len(run.customer_mail(smtp)) == 1  # the same customer: one message in this day
    first = run.customer_mail(smtp)[0]

    run.advance(hours=9)  # the UTC day ends at 00:00: the other order's follow-up may go now
    assert sorted(run.customer_mail(smtp)) == sorted([LATE, "Your order #10000 is running late"])
    assert run.customer_mail(smtp)[0] == first


def test_a_cancelled_order_is_never_followed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    run = run_with(tmp_path, monkeypatch, smtp)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()
    cancelled = paid_order(
        cancelled_at=(START + timedelta(hours=1)).isoformat(),
        updated_at=(START + timedelta(hours=1)).isoformat(),
    )
    run.feed(delivery("orders/cancelled", cancelled, "w-cancel"))
    run.advance(hours=1)

    run.advance(days=4)

    assert run.customer_mail(smtp) == [] and run.cases() == []


def test_a_carrier_pickup_schedule_sets_the_ship_by_the_follow_ups_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp
) -> None:
    pickups = {"pickups": {day: ["11:00", "16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
    warehouse = {
        "timezone": "America/New_York",
        "lead": "fred",
        "handling_minutes": 30,
        "default": True,
        "carriers": {"UPS": pickups},
    }
    run = make_run(
        tmp_path, monkeypatch, smtp=smtp, monitors=FOLLOWUPS, extra_config={"warehouses": {"main": warehouse}}
    )
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))  # Monday 10:00 New York
    run.settle()

    run.advance(minutes=29)
    assert run.customer_mail(smtp) == []
    run.advance(minutes=1)  # 10:30: the 11:00 pickup minus 30 minutes of handling, not 48 hours later

    assert run.customer_mail(smtp) == [LATE]


def test_a_late_case_someone_has_started_on_stays_theirs_when_the_order_ships(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, smtp: FakeSmtp
) -> None:
    run = run_with(tmp_path, monkeypatch, smtp, database_url=db_url)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()
    run.advance(hours=72)  # a day past the ship-by: the case
    [case] = run.cases()
    with run.desk.db.unit_of_work() as uow:
        act(uow, case.id, "start", case.owner, run.clock.now(), run.desk.case_hooks)
        uow.commit()

    run.feed(delivery("fulfillments/create", shipment(), "w-shipped"))
    run.advance(minutes=1)

    [still] = run.cases()
    assert (still.status, still.resolution) == (CaseStatus.IN_PROGRESS, None)
    assert still.detail["moot"] == {"why": "the order shipped", "at": run.clock.now().isoformat()}
    with run.desk.db.unit_of_work(read_only=True) as uow:  # said once, on the timeline and in the audit log
        marked = [(c.actor, c.kind, c.note) for c in uow.cases.timeline(case.id) if c.kind == "moot"]
    assert marked == [("automation", "moot",
                       "the order shipped: what this case was opened for has ended; resolve it unless "
                       "something is left to do")]
    assert audit_actions(run).count("case.moot") == 1
    run.feed(delivery("orders/updated", paid_order(updated_at=run.clock.now().isoformat(), tags="gift"), "w-edit"))
    run.advance(minutes=10)  # another update of the shipped order; the notifications' batching window passes
    assert run.told(smtp, str(case.owner), f"Case {case.key}: the order shipped: what this case was opened") == 1


def test_an_order_paid_days_after_it_was_placed_is_promised_from_its_payment_not_late_on_payment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, smtp: FakeSmtp
) -> None:
    """A bank transfer paid on day three: its 48 hours of handling run from the payment. Promised from the
    order's time, it was late the moment it was paid: the customer got a "running late" email minutes
    after paying, the team a late-order case, and the readiness control counted a follow-up it could never
    have sent in time."""
    run = run_with(tmp_path, monkeypatch, smtp, database_url=db_url)
    run.feed(delivery("orders/create", paid_order(financial_status="pending"), "w-create"))
    run.settle()
    run.advance(days=3)  # Thursday 10:00 New York: paid
    paid = paid_order(updated_at=(START + timedelta(days=3)).isoformat())
    run.feed(delivery("orders/paid", paid, "w-paid"))
    run.settle()
    with run.desk.db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(SHOP, ORDER_ID)
    assert state is not None and state.ship_by == START + timedelta(days=3, hours=48)

    run.advance(hours=47, minutes=59)
    assert run.customer_mail(smtp) == [] and run.cases() == []  # not late, not told so
    run.advance(minutes=1)  # 48 hours after the payment: now it is late
    assert run.customer_mail(smtp) == [LATE]
