"""The reconciliation sweep paces itself by Shopify's cost bucket instead of being throttled (ADR 0015, pacing).

FakeShopifyAdmin enforces the leaky bucket on a manual clock over real HTTP; the connector and the sweep sleep
by moving that clock, so minutes of Shopify's rate limit pass in no time and every wait can be checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from opsdesk.connectors.shopify import ORDERS_UPDATED
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock
from tests.integration._servers import TOKEN
from tests.samples import SHOP, sample

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STANDARD = (2000.0, 100.0)  # Shopify's standard plan: a bucket of 2,000 points, 100 points a second


def order(n: int) -> dict[str, Any]:
    """Order ``n``, paid, changed ``n`` minutes after T0: one the desk never heard of."""
    payload = sample("orders/create")
    at = (T0 + timedelta(minutes=n)).isoformat()
    payload.update(id=4_200_000 + n, admin_graphql_api_id=f"gid://shopify/Order/{4_200_000 + n}", name=f"#{n}",
                   financial_status="paid", created_at=at, updated_at=at, refunds=[], fulfillments=[])
    return payload


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=2))


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens=[TOKEN], bucket=STANDARD, clock=clock) as server:
        yield server


def test_the_fake_bucket_refills_on_its_clock_and_refuses_a_query_it_cannot_hold(
    fake: FakeShopifyAdmin, clock: ManualClock
) -> None:
    for n in range(100):
        fake.put_order_payload(order(n))
    variables = {"first": 100, "after": None, "query": f"updated_at:>='{T0:%Y-%m-%dT%H:%M:%SZ}'"}

    def ask() -> dict[str, Any]:
        answer = httpx.post(fake.url_for(SHOP), json={"query": ORDERS_UPDATED, "variables": variables},
                            headers={"X-Shopify-Access-Token": TOKEN}, timeout=5.0)
        assert answer.status_code == 200
        body: dict[str, Any] = answer.json()
        return body

    answers = [ask() for _ in range(4)]  # in the same instant: nothing refills between them
    clock.advance(seconds=5)  # 500 points back
    answers.append(ask())

    used = answers[0]["extensions"]["cost"]["actualQueryCost"]  # 903 asked, what the 100 orders used kept
    assert answers[0]["extensions"]["cost"]["requestedQueryCost"] == 903 and 2000 - 3 * used < 903 <= 2500 - 3 * used
    assert answers[0]["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 2000.0, "currentlyAvailable": 2000.0 - used, "restoreRate": 100.0}
    assert ["data" in a for a in answers] == [True, True, True, False, True]
    assert [e["extensions"]["code"] for e in answers[3]["errors"]] == ["THROTTLED"]
    assert answers[3]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000 - 3 * used
    assert [c.bucket for c in fake.calls] == [2000.0 - k * used for k in range(4)] + [2500.0 - 3 * used]
