"""How long a read waits for a shop's cost bucket, from what the last answers said (connectors/shopify_bucket.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsdesk.connectors.shopify_bucket import CostBuckets, throttle_wait

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = "demo.myshopify.com"
LISTING, ORDER = "query OrdersUpdated { ... }", "query Order { ... }"


def answer(requested: int, available: float, maximum: float = 2000.0, rate: float = 100.0) -> dict[str, Any]:
    return {"data": {}, "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": 12,
                                                "throttleStatus": {"maximumAvailable": maximum,
                                                                   "currentlyAvailable": available,
                                                                   "restoreRate": rate}}}}


def test_a_read_waits_until_the_bucket_refilled_to_its_last_requested_cost_and_the_reserve() -> None:
    buckets = CostBuckets(reserve=200)
    buckets.observe(SHOP, ORDER, None, answer(809, 100.0), T0)

    assert buckets.wait(SHOP, ORDER, None, T0) == 9.09  # (809 + 200 - 100) / 100 a second
    assert buckets.wait(SHOP, ORDER, None, T0 + timedelta(seconds=5)) == 4.09  # refilled since the answer
    assert buckets.wait(SHOP, ORDER, None, T0 + timedelta(seconds=9.09)) == 0.0
    assert buckets.wait("other.myshopify.com", ORDER, None, T0) == 0.0  # nothing known of that shop yet


def test_the_cost_is_learned_per_query_and_page_size_and_is_the_most_any_query_may_ask_before() -> None:
    buckets = CostBuckets(reserve=0)
    buckets.observe(SHOP, LISTING, 100, answer(903, 0.0), T0)

    assert buckets.wait(SHOP, LISTING, 100, T0) == 9.03
    assert buckets.wait(SHOP, LISTING, 10, T0) == 10.0  # never priced at 10 a page: 1,000 points
    assert buckets.wait(SHOP, ORDER, None, T0) == 10.0


def test_a_wait_never_asks_for_more_than_the_bucket_holds_and_is_rounded_up_to_the_millisecond() -> None:
    buckets = CostBuckets(reserve=1500)
    buckets.observe(SHOP, ORDER, None, answer(809, 0.0, maximum=1000.0, rate=50.0), T0)
    assert buckets.wait(SHOP, ORDER, None, T0) == 20.0  # a full bucket of 1,000, not 2,309 points

    buckets = CostBuckets(reserve=0)
    buckets.observe(SHOP, ORDER, None, answer(10, 0.0, rate=3.0), T0)
    assert buckets.wait(SHOP, ORDER, None, T0) == 3.334  # 3.3333... seconds, never short


def test_every_answer_moves_the_bucket_a_throttled_one_and_an_actions_included() -> None:
    buckets = CostBuckets(reserve=200)
    buckets.observe(SHOP, ORDER, None, answer(809, 2000.0), T0)
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                 "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": None, "throttleStatus": {
                     "maximumAvailable": 2000.0, "currentlyAvailable": 9.0, "restoreRate": 100.0}}}}
    buckets.observe(SHOP, "mutation Tags { ... }", None, throttled, T0)

    assert buckets.wait(SHOP, ORDER, None, T0) == 10.0  # (809 + 200 - 9) / 100
    buckets.observe(SHOP, ORDER, None, {"data": {}}, T0 + timedelta(seconds=1))  # no cost: nothing learned
    assert buckets.wait(SHOP, ORDER, None, T0 + timedelta(seconds=1)) == 9.0


def test_waits_are_added_up_per_shop() -> None:
    buckets = CostBuckets()
    buckets.paced(SHOP, 1.5)
    buckets.paced(SHOP, 2.25)
    assert (buckets.paced(SHOP), buckets.paced("other.myshopify.com")) == (3.75, 0.0)


@pytest.mark.parametrize(("body", "wait"), [
    (answer(10, 0.0), 0.1),
    (answer(809, 300.0), 5.09),
    (answer(809, 808.96), 0.01),  # refused, so not all there, whatever the rounded report says: one point more
    (answer(809, 809.0), 0.01),
    (answer(10, 0.0, rate=3.0), 3.334),  # never short
    ({"errors": [{"message": "Throttled"}]}, None),
])
def test_a_throttled_answer_says_how_long_until_its_cost_is_back(body: dict[str, Any], wait: float | None) -> None:
    assert throttle_wait(body) == wait
