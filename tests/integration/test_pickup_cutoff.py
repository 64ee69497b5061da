"""Carrier pickup cut-offs on a virtual afternoon: ship-by from the pickups, T-60/T-15 warnings, a case, a miss.

Orders are Shopify's sample ``orders/create`` (and ``fulfillments/create``, ``orders/cancelled``) signed and
replayed through intake into a desk wired by the composition root on a SQLite file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.pickups import missed_pickups, subject
from opsdesk.testing import RecordingConnector
from tests.integration.discount_pickup_harness import (
    LineSpec,
    Scenario,
    database_url,
    fake_admin,
    order_payload,
    scenario,
)
from tests.samples import SHOP, sample

__all__ = ["database_url", "fake_admin"]

NY = ZoneInfo("America/New_York")
LINES = (LineSpec("TEE-BLK-M", Decimal("25.00")),)
WAREHOUSES = {
    "brooklyn": {
        "name": "Brooklyn",
        "location_id": 655441491,
        "timezone": "America/New_York",
        "lead": "wendy",
        "handling_minutes": 30,
        "default": True,
        "carriers": {
            "UPS": {
                "pickups": {day: ["11:00", "16:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
                "holidays": {"country": "US", "subdivision": "NY"},
            }
        },
    }
}


def local(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=NY).astimezone(UTC)


def place(run: Scenario, n: int, at: datetime, **extra: Any) -> int:
    payload = order_payload(n, at, LINES, **extra)
    run.deliver("orders/create", payload, at + timedelta(seconds=2))
    return int(payload["id"])


def pack(run: Scenario, order_id: int, at: datetime) -> None:
    payload = sample("fulfillments/create")
    payload.update(
        id=900_000 + order_id % 1000,
        order_id=order_id,
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
        admin_graphql_api_id=f"gid://shopify/Fulfillment/{900_000 + order_id % 1000}",
    )
    run.deliver("fulfillments/create", payload, at)


def cancel(run: Scenario, order: dict[str, Any], at: datetime) -> None:
    payload = {
        **order,
        "cancelled_at": at.isoformat(),
        "updated_at": at.isoformat(),
        "cancel_reason": "customer",
    }
    run.deliver("orders/cancelled", payload, at)


def test_orders_not_packed_before_the_pickup_warn_the_lead_open_a_case_and_record_the_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin, database_url: str
) -> None:
    run = scenario(tmp_path, monkeypatch, fake_admin, local(2, 13), database_url, warehouses=WAREHOUSES)
    packed = place(run, 1, local(2, 14))
    late = place(run, 2, local(2, 14, 10))
    cancelled = order_payload(3, local(2, 14, 20), LINES)
    run.deliver("orders/create", cancelled, local(2, 14, 20))
    after_cutoff = place(run, 4, local(2, 15, 40), location_id=655441491)
    pack(run, packed, local(2, 14, 50))
    cancel(run, cancelled, local(2, 15, 10))
    run.run_until(local(2, 16, 10), step=timedelta(seconds=30))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        ship_by = {
            oid: uow.orders.find(ShopDomain(SHOP), OrderId(oid)).ship_by  # type: ignore[union-attr]
            for oid in (packed, late, cancelled["id"], after_cutoff)
        }
        [case] = uow.cases.search(CaseFilter(queue="warehouse"))
        missed = missed_pickups(uow, SHOP)
        warned = _audit(uow, "pickup.at_risk")
        timers = uow.timers.pending(subject(SHOP, late))

    # Ship-by: packed before the next pickup minus 30 minutes of handling; after the cut-off, the next day's.
    assert ship_by == {
        packed: local(2, 15, 30),
        late: local(2, 15, 30),
        cancelled["id"]: local(2, 15, 30),
        after_cutoff: local(3, 10, 30),
    }
    # T-60 warns about every unpacked order (the cancelled one was still open then); T-15 only the late one.
    assert sorted((w["order_id"], w["minutes"]) for w in warned) == [
        (late, 15),
        (late, 60),
        (cancelled["id"], 60),
    ]
    emails = [a for a in run.desk.connectors["smtp"].sent if a.payload.get("to") == "wendy@example.com"]  # type: ignore[attr-defined]
    assert isinstance(run.desk.connectors["smtp"], RecordingConnector) and len(emails) >= 2
    assert any("#3002" in str(a.payload) and "16:00" in str(a.payload) for a in emails)
    # The case: the warehouse queue, owned by the lead, due when the truck comes.
    assert (case.order_id, case.kind, case.owner, case.priority) == (late, "fulfilment", "wendy", "high")
    assert case.opened_at == local(2, 15, 30) and case.due_at == local(2, 16)
    # The truck left without it: recorded once, and the order is now watched for Tuesday's 11:00 pickup.
    assert [(m.order_id, m.carrier, m.pickup_at, m.ship_by) for m in missed] == [
        (late, "UPS", local(2, 16), local(2, 15, 30))
    ]
    assert sorted(t.due_at for t in timers) == [
        local(3, 10),
        local(3, 10, 30),
        local(3, 10, 45),
        local(3, 11),
    ]

    # Stop condition: both packed before Tuesday's pickup, so its warnings, cut-offs and misses do nothing.
    pack(run, late, local(2, 17))
    pack(run, after_cutoff, local(3, 9))
    run.run_until(local(3, 11, 5), step=timedelta(minutes=1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        assert len(missed_pickups(uow, SHOP)) == 1
        assert len(_audit(uow, "pickup.at_risk")) == 3
        assert [m.order_id for m in missed_pickups(uow)] == [late]
        assert uow.cases.count(CaseFilter(queue="warehouse")) == 1


def _audit(uow: Any, action: str) -> list[dict[str, Any]]:
    """The ``after`` of every audit entry of ``action``, in order (read through the audit chain)."""
    return [json.loads(r.after or "{}") for r in uow.audit.chain(0, 100_000) if r.action == action]


def test_an_order_first_seen_days_after_its_pickup_is_history_and_arms_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    run = scenario(tmp_path, monkeypatch, fake_admin, local(5, 9), warehouses=WAREHOUSES)
    old = place(run, 9, local(2, 14))  # Monday's order, replayed on Thursday
    fresh = place(run, 10, local(5, 9))
    run.run_until(local(5, 9, 1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        assert uow.timers.pending(subject(SHOP, old)) == []
        assert len(uow.timers.pending(subject(SHOP, fresh))) == 4  # T-60, cut-off, T-15, pickup at 11:00
        assert uow.orders.find(ShopDomain(SHOP), OrderId(fresh)).ship_by == local(5, 10, 30)  # type: ignore[union-attr]
