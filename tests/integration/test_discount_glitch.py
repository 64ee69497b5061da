"""A 90%-off automatic discount created by mistake during steady traffic: paused within minutes, priced.

Everything real but Shopify: the desk is wired by the composition root on SQLite and on PostgreSQL, webhooks
are Shopify's own sample payloads signed and replayed through intake, the Admin API is the local fake
answering over HTTP, and time is a virtual clock ticking every 5 seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.discount_incidents import incident_summary, list_incidents
from tests.integration.discount_pickup_harness import (
    CENT,
    LineSpec,
    Scenario,
    database_url,
    discount_payload,
    excess,
    fake_admin,
    order_payload,
    scenario,
)

__all__ = ["database_url", "fake_admin"]

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MISTAKE_AT = START + timedelta(minutes=20)
GLITCH = "gid://shopify/DiscountAutomaticNode/4401"
WELCOME = "gid://shopify/DiscountCodeNode/4402"
LINES = (LineSpec("TEE-BLK-M", Decimal("25.00")), LineSpec("MUG-CLASSIC", Decimal("12.50"), 2))
GROSS = Decimal("50.00")
MAX_SHARE = Decimal("0.5")  # discount_guard.max_percentage: 50


def steady_traffic(run: Scenario, fake: FakeShopifyAdmin, until: datetime) -> dict[int, dict[str, Any]]:
    """An order every 40 s (every third with the WELCOME10 code); the glitch applies while it is active."""
    placed: dict[int, dict[str, Any]] = {}
    n = 0
    while run.clock.now() <= until:
        now = run.clock.now()
        if now == MISTAKE_AT:
            # Someone creates the automatic discount by mistake; Shopify's webhook arrives 90 s later.
            fake.store.add_discount(
                GLITCH, title="Spring preview", percentage=0.9, all_items=True, ends_at=None
            )
            run.deliver(
                "discounts/create",
                discount_payload(GLITCH, "Spring preview", now),
                now + timedelta(seconds=90),
            )
        if (now - START).total_seconds() % 40 == 0:
            glitch = fake.store.discount(GLITCH)
            if glitch is not None and glitch["discount"]["status"] == "ACTIVE":
                payload = order_payload(
                    n,
                    now,
                    LINES,
                    discount=(GROSS * Decimal("0.9")).quantize(CENT),
                    automatic="Spring preview",
                )
            elif n % 3 == 0:
                payload = order_payload(
                    n, now, LINES, discount=(GROSS * Decimal("0.1")).quantize(CENT), code="WELCOME10"
                )
            else:
                payload = order_payload(n, now, LINES)
            placed[payload["id"]] = payload
            run.deliver("orders/create", payload, now + timedelta(seconds=3))  # Shopify's delivery lag
            n += 1
        run.step()
    return placed


def test_a_ninety_percent_discount_created_by_mistake_is_paused_within_five_minutes_of_the_first_bad_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin, database_url: str
) -> None:
    fake_admin.store.add_discount(
        WELCOME,
        title="WELCOME10",
        percentage=0.1,
        all_items=True,
        ends_at="2026-12-31T23:59:59Z",
        usage_limit=10_000,
        codes=("WELCOME10",),
    )
    run = scenario(
        tmp_path,
        monkeypatch,
        fake_admin,
        START,
        database_url,
        discount_guard={"max_percentage": 50, "owner": "team:pricing"},
    )
    # The first Admin API call, reading the new discount's terms, fails: the pause must not wait for it.
    fake_admin.script("500")
    placed = steady_traffic(run, fake_admin, START + timedelta(minutes=40))

    bad = {
        oid: p
        for oid, p in placed.items()
        if p["discount_applications"] and p["discount_applications"][0].get("title") == "Spring preview"
    }
    with run.desk.db.unit_of_work(read_only=True) as uow:
        [incident] = list_incidents(uow)
        [case] = uow.cases.search(CaseFilter(queue="pricing"))

    # The automatic handling: paused through the Admin API, once, within 5 simulated minutes.
    assert [e.detail for e in fake_admin.effects if e.target == GLITCH] == [{"status": "EXPIRED"}]
    first_bad = min(datetime.fromisoformat(p["created_at"]) for p in bad.values())
    assert incident.first_bad_order_at == first_bad == MISTAKE_AT
    assert incident.paused_at is not None and incident.time_to_pause is not None
    assert incident.time_to_pause <= timedelta(minutes=5)
    assert incident.paused_at == MISTAKE_AT + timedelta(seconds=90)  # as soon as the webhook named its id
    # The money at risk is exactly the bad orders' discount beyond 50 % of their gross.
    assert len(bad) >= 2
    assert sorted(incident.bad_orders) == sorted(bad)
    assert (
        incident.money_at_risk
        == sum(excess(GROSS, Decimal(p["total_discounts"]), MAX_SHARE) for p in bad.values())
        == Decimal(20) * len(bad)
    )
    assert incident.discount_gid == GLITCH and incident.currency == "USD"
    # The terms were read once the first read failed, but by then the discount was paused: inactive, no findings.
    assert incident.violations == ("order_above_max",)
    summary = incident_summary(incident)
    assert summary["seconds_to_pause"] == incident.time_to_pause.total_seconds()
    assert summary["money_at_risk"] == str(incident.money_at_risk)

    # The case for a person: the pricing queue, its owner, a one-hour deadline, the money at risk so far.
    assert (case.kind, case.owner, case.priority) == ("discount", "paula", "high")
    assert case.opened_at == MISTAKE_AT + timedelta(seconds=5)  # the first bad order's delivery was processed
    assert case.due_at == case.opened_at + timedelta(hours=1)
    assert Decimal(case.detail["money_at_risk"]) == Decimal(20)  # the first bad order's excess: so far
    assert case.detail["incident"] == incident.id

    # Stop conditions: the WELCOME10 orders and the orders after the pause are not bad, nothing is paused
    # twice, and the discounts/update Shopify sends for the pause changes nothing.
    assert all(
        p["discount_applications"][0].get("code") == "WELCOME10"
        for oid, p in placed.items()
        if oid not in bad and p["discount_applications"]
    )
    assert len(placed) - len(bad) > 50
    later = run.clock.now()
    run.deliver(
        "discounts/update", discount_payload(GLITCH, "Spring preview", later, status="EXPIRED"), later
    )
    run.run_until(later + timedelta(minutes=1))
    with run.desk.db.unit_of_work(read_only=True) as uow:
        assert [i.id for i in list_incidents(uow)] == [incident.id]
        assert uow.cases.count(CaseFilter(queue="pricing")) == 1
        assert uow.discounts.find("demo-store.myshopify.com", GLITCH).status == "EXPIRED"  # type: ignore[union-attr]
    assert len([c for c in fake_admin.calls if "Deactivate" in c.operation]) == 1
