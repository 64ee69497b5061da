"""The stuck-order settings, the SMTP stand-in, the samples moved on in time, and an order stuck in paid."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.fulfilment_harness import ORDER_ID, START, make_run, paid_order
from tests.samples import delivery, sample

STUCK = {
    "stuck_orders": {"thresholds": {"paid": 24, "fulfilled": 48}},
    "delayed_fulfilment": {"enabled": False},
    "address_validation": {"enabled": False},
}


@pytest.fixture
def smtp() -> FakeSmtp:
    with FakeSmtp() as fake:
        yield fake  # type: ignore[misc]


def later(hours: float, **changes: Any) -> dict[str, Any]:
    at = (START + timedelta(hours=hours)).isoformat()
    return paid_order(updated_at=at, **changes)


def shipped_at(hours: float) -> dict[str, Any]:
    fulfilment = sample("fulfillments/create")
    at = (START + timedelta(hours=hours)).isoformat()
    fulfilment.update(id=55, order_id=ORDER_ID, status="success", created_at=at, updated_at=at)
    return fulfilment


def stuck_in_paid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, db_url: str) -> Any:
    """An order paid Monday 10:00 (New York) with no change for 24 hours: its stuck case, for olga."""
    run = make_run(tmp_path, monkeypatch, smtp=smtp, monitors=STUCK, database_url=db_url)
    run.feed(delivery("orders/paid", paid_order(), "w-paid"))
    run.settle()
    run.advance(hours=24)
    [case] = run.cases()
    assert (case.kind, case.detail["stage"]) == ("stuck_order", "paid")
    return run, case
