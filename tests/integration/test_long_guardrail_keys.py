"""A guardrail counter of the longest rule id and email, on PostgreSQL, which refuses a key longer than its column.

``guardrail_usage.key`` holds 400 characters; ``<rule>|customer|<email>|<window>`` for a rule id of 128 (what
``decisions.rule_id`` holds) and a guest's email of 320 is 469. The key is fitted (``Guardrail.usage_key``):
the refund cap per customer counts, holds and is swept as for any customer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from opsdesk.domain.policies import Usage
from opsdesk.services.usage_retention import window_started
from opsdesk.testing import ManualClock, sign
from tests.contract.transactions import read
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed, starter_with_refund_rule
from tests.samples import SECRET, order_lifecycle

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RULE = "auto-refund-simple-purchase-error-" + "x" * 94  # 128 characters
EMAIL = "a" * 64 + "@" + ("d" * 63 + ".") * 3 + "d" * 63  # 320 characters


def guest_with_a_long_email(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deliveries of an order made a guest's (no customer record) with the longest email, signed again."""
    for d in deliveries:
        payload = orjson.loads(d["body"])
        if "email" in payload and "customer" in payload:
            payload.update(email=EMAIL, customer=None)
            d["body"] = orjson.dumps(payload).decode()
            d["headers"]["X-Shopify-Hmac-Sha256"] = sign(d["body"].encode(), SECRET)
    return deliveries


def test_the_refund_cap_per_customer_counts_under_a_fitted_key_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    playbooks = starter_with_refund_rule(tmp_path, RULE)
    clock = ManualClock(NOW)
    desk = make_desk(tmp_path, monkeypatch, database_url=pg_url, clock=clock, playbooks=str(playbooks))
    assert len(RULE) == 128 and len(EMAIL) == 320

    orders = [d for n in (1, 2, 3) for d in guest_with_a_long_email(order_lifecycle(n, base=NOW)[:6])]
    feed(desk.db, orders, clock)
    report = desk.process_pending()

    # Two refunds inside the cap of two per customer per 30 days; the third goes to a person.
    assert (report.failed, report.automated) == (0, 2)
    with desk.db.unit_of_work(read_only=True) as uow:
        [case] = [c for c in uow.cases.list_open() if c.queue == "refunds"]
        counters = {k: v for k, v in uow.usage.get_many(uow.usage.keys("", 100)).items() if "|customer|" in k}
        assert uow.deliveries.count("failed") == 0
    assert case.reason.startswith("guardrail: count 3 would exceed 2 (customer per 30 days")
    [(key, usage)] = counters.items()
    period = timedelta(days=30)
    window = datetime(1970, 1, 1, tzinfo=UTC) + (NOW - datetime(1970, 1, 1, tzinfo=UTC)) // period * period
    assert (len(key) <= 400, key.startswith("auto-refund-simple"), EMAIL in key) == (True, True, False)
    assert window_started(key) == int(window.timestamp())  # the retention sweep deletes it in its time
    assert usage == Usage(2, Decimal("39.98"))
    assert read(desk.db, lambda uow: uow.usage.get_many([key])) == {key: usage}
