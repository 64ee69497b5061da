"""``opsdesk discounts incidents`` and ``opsdesk pickups missed`` print what the guardrails recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.pickups import MissedPickup
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration.discount_pickup_harness import discount_payload, fake_admin, scenario
from tests.samples import SHOP

__all__ = ["fake_admin"]

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def z(at: datetime) -> str:
    """A time as the CLI's JSON writes it: UTC ending Z (ADR 0059)."""
    return at.isoformat().replace("+00:00", "Z")


BIG = "gid://shopify/DiscountAutomaticNode/9901"


def test_the_incidents_and_missed_pickups_are_listed_as_json_and_as_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin
) -> None:
    fake_admin.store.add_discount(BIG, title="Oops 95", percentage=0.95, all_items=True, ends_at=None)
    run = scenario(tmp_path, monkeypatch, fake_admin, START)
    run.deliver("discounts/create", discount_payload(BIG, "Oops 95", START), START)
    run.run_until(START + timedelta(seconds=10))
    missed = MissedPickup(SHOP, 7_100_000_002, "brooklyn", "UPS", START, START - timedelta(minutes=30), START)
    with run.desk.db.unit_of_work() as uow:
        uow.pickups.record_missed(missed)
        uow.commit()
    where = ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]

    result = CliRunner().invoke(cli, ["discounts", "incidents", *where, "--format", "json"])
    assert result.exit_code == 0, result.output
    [incident] = json.loads(result.output)
    assert (incident["title"], incident["discount_id"], incident["kind"]) == ("Oops 95", BIG, "preflight")
    assert incident["paused_at"] == z(START) and incident["seconds_to_pause"] is None  # no bad order
    assert incident["violations"] == ["no_end_date", "above_max_percentage"]
    with run.desk.db.unit_of_work(read_only=True) as uow:  # its case, by the key people use (ADR 0029)
        key = uow.cases.get(incident["case_id"]).key
    assert (incident["case_key"], key[:2]) == (key, "C-")
    table = CliRunner().invoke(
        cli, ["discounts", "incidents", *where, "--shop", SHOP], env={"COLUMNS": "200"}
    )
    assert table.exit_code == 0 and "Oops 95" in table.output and "1 discount incident(s)" in table.output
    [row] = [line for line in table.output.splitlines() if "Oops 95" in line]
    assert row.split()[0] == key and incident["case_id"] not in table.output
    other = CliRunner().invoke(
        cli, ["discounts", "incidents", *where, "--shop", "x.myshopify.com", "--format", "json"]
    )
    assert json.loads(other.output) == []

    result = CliRunner().invoke(cli, ["pickups", "missed", *where, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "shop": SHOP,
            "order_id": 7_100_000_002,
            "warehouse": "brooklyn",
            "carrier": "UPS",
            "pickup_at": z(START),
            "ship_by": z(START - timedelta(minutes=30)),
            "recorded_at": z(START),
        }
    ]
    table = CliRunner().invoke(cli, ["pickups", "missed", *where], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "brooklyn" in table.output and "7100000002" in table.output
