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

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.connectors.shopify_reads import ORDERS_UPDATED
from opsdesk.domain.outbox import Delivered
from opsdesk.fakes.shopify_admin import Call, FakeShopifyAdmin
from opsdesk.services.reconcile import Reconciler, SweepSettings
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock
from tests.integration._servers import TOKEN, outbox_action
from tests.samples import SHOP, sample

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STANDARD = (2000.0, 100.0)  # Shopify's standard plan: a bucket of 2,000 points, 100 points a second
RESERVE = 200.0
ORDERS = 60


def order(n: int) -> dict[str, Any]:
    """Order ``n``, paid, changed ``n`` minutes after T0: one the desk never heard of."""
    payload = sample("orders/create")
    at = (T0 + timedelta(minutes=n)).isoformat()
    payload.update(id=4_200_000 + n, admin_graphql_api_id=f"gid://shopify/Order/{4_200_000 + n}", name=f"#{n}",
                   financial_status="paid", created_at=at, updated_at=at, refunds=[], fulfillments=[])
    return payload


class Sleeper:
    """Sleeps by moving the clock; remembers each wait and how many calls the fake had seen before it."""

    def __init__(self, clock: ManualClock, fake: FakeShopifyAdmin) -> None:
        self.clock, self.fake = clock, fake
        self.waits: list[tuple[int, float]] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append((len(self.fake.calls), seconds))
        self.clock.advance(seconds=seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=2))


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens=[TOKEN], bucket=STANDARD, clock=clock) as server:
        yield server


def connector(fake: FakeShopifyAdmin, clock: ManualClock, sleep: Sleeper) -> ShopifyAdmin:
    return ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0, clock=clock, sleep=sleep, reserve=RESERVE)


def throttled(calls: list[Call]) -> list[Call]:
    """The queries Shopify refused for want of points: the bucket held less than their requested cost."""
    return [c for c in calls if c.bucket is not None and c.bucket < c.cost]


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


def test_a_sweep_of_many_orders_waits_for_the_bucket_as_long_as_it_must_and_is_never_throttled(
    fake: FakeShopifyAdmin, clock: ManualClock, sql_db: SqlDatabase
) -> None:
    for n in range(ORDERS):
        fake.put_order_payload(order(n))
    sleep = Sleeper(clock, fake)
    retries = Sleeper(clock, fake)  # the sweep's own waits, after a refusal: there must be none
    with connector(fake, clock, sleep) as shopify:
        reconciler = Reconciler(sql_db, shopify, clock.now, SweepSettings(page_size=25), sleep=retries)
        report = reconciler.sweep(SHOP, since=T0)

    assert report.ok, report.error
    assert (report.seen, report.orders_read, report.appended) == (ORDERS, ORDERS, ORDERS)
    calls = fake.calls
    assert throttled(calls) == [] and {c.status for c in calls} == {200} and retries.waits == []
    assert sleep.waits, "60 whole orders at 809 points asked each must drain a bucket of 2,000"
    # Each read was sent when the bucket held what Shopify last asked for that query (1,000 before it asked
    # once) and the reserve: a read that waited got there and no further (the fake reports the bucket to a
    # tenth of a point, the wait is to the millisecond: a tenth of a point at 100 a second).
    paced = {index for index, _ in sleep.waits}
    asked: dict[str, int] = {}
    for index, call in enumerate(calls):
        target = min(asked.get(call.operation, 1000) + RESERVE, STANDARD[0])
        assert call.bucket is not None and call.bucket >= target - 0.05, (index, call)
        if index in paced:
            assert call.bucket <= target + 0.15, (index, call)
        asked[call.operation] = call.cost
    assert report.paced_seconds == pytest.approx(sum(s for _, s in sleep.waits), abs=0.001)
    assert clock.now() - (T0 + timedelta(hours=2)) == timedelta(seconds=sum(s for _, s in sleep.waits))
    assert report.as_dict()["paced_seconds"] == report.paced_seconds > 0


def test_the_desks_actions_never_wait_for_the_bucket_but_a_read_waits_for_its_cost_and_the_reserve(
    fake: FakeShopifyAdmin, clock: ManualClock
) -> None:
    fake.put_order_payload(order(0))
    sleep = Sleeper(clock, fake)
    with connector(fake, clock, sleep) as shopify:
        assert isinstance(shopify.order(SHOP, "gid://shopify/Order/4200000"), dict)  # Shopify prices it: 995
        for i in range(100):  # 12 points each, 1,200 in all, in the same instant: no action waits
            action = outbox_action("add_tags", 4_200_000, {"tags": ["vip"]}, decision=f"tag-{i}")
            assert isinstance(shopify.send(action), Delivered)
        assert sleep.waits == []
        drained = fake.calls[-1].bucket
        assert drained is not None and drained - 12 < 995 + RESERVE
        assert isinstance(shopify.order(SHOP, "gid://shopify/Order/4200000"), dict)

    [(_, waited)] = sleep.waits  # the read waited until the bucket held its cost and the reserve
    assert waited == pytest.approx((995 + RESERVE - (drained - 12)) / 100, abs=0.002)
    assert fake.calls[-1].bucket == pytest.approx(995 + RESERVE, abs=0.15)
    assert shopify.paced(SHOP) == waited
