"""A timer due by the time a delivery of its tick arrives fires before it, at its time (ADR 0011 amended).

A server processes each webhook as it arrives and sweeps its timers as they fall due. The simulator processed a
tick's deliveries first and fired the tick's timers after, at its end: a card order placed at 05:01 stays pending,
the desk's payment check is due 30 minutes later, at 05:31 (``order_playbooks.payment_pending_minutes``), and an
``orders/paid`` arriving at 05:31:30, in the same tick (05:30, 05:35], was processed first: the check then found
the order paid and did nothing. A timer due at the very time a delivery arrives fires first too (a deadline at t
has passed at t); a payment that came before the check still settles it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsdesk import app as composition
from opsdesk.cli_simulate import stand_ins
from opsdesk.config import load_settings
from opsdesk.domain.records import DecisionRecord
from opsdesk.simulator.run_state import VirtualClock
from opsdesk.simulator.runner import InProcess
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.shaping import Line, Order, Renderer
from opsdesk.simulator.store import Delivery, ground_truth
from tests.integration.desk_harness import write_config
from tests.samples import SECRET, SHOP

DAY = Scenario(
    name="time-order", shop=SHOP, duration=timedelta(hours=1), follow=timedelta(0), tick=timedelta(minutes=5)
)
ORDER_ID = 7_000_000_001


class OneOrder:
    """A store that sends one pending card order placed at ``placed``, then its payment, which reaches the desk at
    ``paid`` (in the tick ending at or after it)."""

    def __init__(self, placed: datetime, paid: datetime) -> None:
        self.s, self.truth = DAY, ground_truth(DAY)
        self.placed, self.paid = placed, paid

    def __iter__(self) -> Iterator[Delivery]:
        render = Renderer(SHOP, SECRET)
        line = Line(11, 12, 13, 14, "SKU-1", "Product SKU-1", 1, Decimal("40.00"))
        order = Order(ORDER_ID, 1, "buyer@example.com", 21, self.placed, [line], Decimal("5.00"), "shopify_payments",
                      31, "1Z0001")
        sent = [
            (self.placed, "orders/create", render.order(order, self.placed, "pending", None)),
            (self.paid, "orders/paid", render.order(order, self.paid, "paid", None)),
        ]
        for n, (at, topic, payload) in enumerate(sent):
            headers, body = render.sign(topic, payload, at, f"w-{n}", f"e-{n}")
            yield Delivery(at, topic, headers, body)


@contextlib.contextmanager
def desk_run(directory: Path, monkeypatch: pytest.MonkeyPatch, store: OneOrder) -> Iterator[list[DecisionRecord]]:
    """The day run in process on a SQLite file; the decisions the desk took about the order."""
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    directory.mkdir()
    settings = load_settings(str(write_config(directory)), f"sqlite:///{directory}/opsdesk.db")
    with contextlib.ExitStack() as stack:
        settings, faults, connectors = stand_ins(settings, stack)
        clock = VirtualClock(DAY.first_order_at)
        desk = composition.build(settings, clock=clock, connectors=connectors)
        InProcess(desk, clock, store, faults=faults, people=False).run()
        with desk.db.unit_of_work(read_only=True) as uow:
            yield list(uow.decisions.for_order(SHOP, ORDER_ID))
        desk.db.dispose()


def _rechecks(decisions: list[DecisionRecord]) -> list[datetime]:
    """When the payments playbook asked Shopify again about the order (its payment still pending)."""
    return [d.decided_at for d in decisions if d.playbook == "payments" and d.rule_id == "recheck-pending-payment"]


def at(clock: str) -> datetime:
    return datetime.combine(DAY.start.date(), time.fromisoformat(clock), DAY.start.tzinfo)


def test_a_check_due_before_the_payment_arrives_in_the_same_tick_fires_first_at_its_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is due at 05:31, the payment arrives at 05:31:30: the check finds the order pending and asks Shopify
    again, at 05:31. Before: no recheck (the payment was processed first, and the check fired at 05:35)."""
    with desk_run(tmp_path / "run", monkeypatch, OneOrder(at("05:01"), at("05:31:30"))) as decisions:
        assert _rechecks(decisions) == [at("05:31")]


def test_a_check_due_at_the_very_time_the_payment_arrives_fires_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadline at t has passed at t: the check due at 05:35:00 fires before the payment stamped 05:35:00."""
    with desk_run(tmp_path / "run", monkeypatch, OneOrder(at("05:05"), at("05:35"))) as decisions:
        assert _rechecks(decisions) == [at("05:35")]


def test_a_payment_that_arrived_before_the_check_was_due_still_settles_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paid at 05:30:50, in the check's tick but before it is due (05:31): nothing to ask."""
    with desk_run(tmp_path / "run", monkeypatch, OneOrder(at("05:01"), at("05:30:50"))) as decisions:
        assert decisions and _rechecks(decisions) == []
