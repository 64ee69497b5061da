"""The wall clock is not monotonic: NTP steps it back, and two workers' clocks differ by some milliseconds (a case
one worker changed can look changed "in the future" to the other). Neither may stop the pipeline: a case's SLA
clocks count the change at their last change, never earlier (ADR 0056).

Real intake path, real SQLite file and PostgreSQL, a manual clock stepped back.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.domain.cases import CaseStatus
from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.fulfilment_harness import (
    START,
    Run,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    make_run,
    paid_order,
)
from tests.integration.stuck_orders_harness import STUCK, shipped_at
from tests.samples import delivery


def test_a_case_settled_after_the_clock_stepped_back_is_resolved_at_its_last_change_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    with FakeSmtp() as smtp:
        run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK, database_url=db_url)
        clock_stepped_back_past_a_stuck_case(run)

    with run.desk.db.unit_of_work(read_only=True) as uow:
        [case] = uow.cases.search(CaseFilter(active_only=False))
        left = uow.deliveries.count("pending")
    assert left == 0
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "no_action")
    clocks = case.detail["sla"]["clocks"]
    assert {target: clock["met_at"] for target, clock in clocks.items()} == {
        target: case.opened_at.isoformat() for target in clocks
    }


def clock_stepped_back_past_a_stuck_case(run: Run) -> None:
    """A stuck case opens; the clock steps back a second; the order ships (the case is settled)."""
    placed = (START - timedelta(hours=1)).isoformat()  # placed an hour before it was paid
    run.feed(delivery("orders/paid", paid_order(created_at=placed), "w-paid"))
    run.advance(hours=24)
    [case] = run.cases()  # the stuck case, its SLA clocks started as it opened
    run.clock.set(case.opened_at - timedelta(seconds=1))  # NTP steps back (or another worker's clock is behind)

    run.feed(delivery("fulfillments/create", shipped_at(23.9), "w-shipped"))
    run.settle()
