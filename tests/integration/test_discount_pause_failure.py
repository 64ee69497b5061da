"""A pause the discount guard cannot carry out becomes an automation-failure case named after the discount as
people know it (its code, else its title), not after its node id. The fake Admin API over HTTP goes down
right after the guard read the discount's terms; a real SQLite file and a virtual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.domain.records import CaseFilter
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration.discount_pickup_harness import discount_payload, fake_admin, scenario
from tests.pipeline_harness import feed
from tests.samples import delivery

__all__ = ["fake_admin"]

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OUTBOX = {"max_attempts": 2, "base_delay_seconds": 1, "max_delay_seconds": 2}


@pytest.mark.parametrize(
    ("gid", "codes", "named"),
    [
        ("gid://shopify/DiscountCodeNode/6611", ("STAFF80",), "STAFF80"),
        ("gid://shopify/DiscountAutomaticNode/6612", (), "Staff 80"),  # an automatic discount has no code
    ],
)
def test_a_pause_that_fails_is_a_case_named_after_the_discount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin, gid: str,
    codes: tuple[str, ...], named: str,
) -> None:
    fake_admin.store.add_discount(gid, title="Staff 80", percentage=0.8, all_items=True, codes=codes,
                                  ends_at="2026-04-01T00:00:00Z")
    run = scenario(tmp_path, monkeypatch, fake_admin, START, discount_guard={"max_percentage": 30}, outbox=OUTBOX)
    feed(run.desk.db, [delivery("discounts/create", discount_payload(gid, "Staff 80", START), "w-1")], run.clock)
    run.desk.process_pending()
    run.desk.inspect_discounts()  # the guard reads the terms (80 % off, above 30 %) and queues the pause
    fake_admin.outage(True)  # before it is sent
    run.run_until(START + timedelta(minutes=1))

    with run.desk.db.unit_of_work(read_only=True) as uow:
        [failure] = uow.cases.search(CaseFilter(queue="automation"))
        [pricing] = uow.cases.search(CaseFilter(queue="pricing"))
    assert failure.title == f"deactivate_discount failed for discount {named}"
    assert pricing.detail["discount_name"] == named  # a person's pause from it is named the same (resolutions)
    assert (failure.kind, failure.detail["kind"]) == ("automation_failure", "deactivate_discount")
