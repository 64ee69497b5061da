"""The simulated carrier's troubles: each path's scans in the order they happen, its truth, and its shares."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from opsdesk.domain.shipments import KINDS
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.store import Delivery, Store
from opsdesk.simulator.trouble import ATTEMPTED, BUYER, PATHS, PICKUP, RETURNED, Shares
from opsdesk.simulator.truth import load_truth

START = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
#: three weeks of orders followed for three more weeks: most parcels reach their last leg before the horizon
LONG = Scenario(name="long", seed=11, start=START, history=timedelta(days=20), follow=timedelta(days=21),
                orders_per_day=60, products=20)


def parcels(store: Store) -> tuple[dict[int, list[tuple[datetime, str]]], list[dict[str, Any]]]:
    """Each order's carrier scans in the order they happened, and every fulfilment payload."""
    scans: dict[int, list[tuple[datetime, str]]] = {}
    fulfilments = []
    for delivery in store:
        body = orjson.loads(delivery.body)
        if delivery.topic == "fulfillment_events/create":
            scans.setdefault(body["order_id"], []).append((datetime.fromisoformat(body["happened_at"]), body["status"]))
        elif delivery.topic.startswith("fulfillments/"):
            fulfilments.append(body)
    return {order: sorted(set(s)) for order, s in scans.items()}, fulfilments


def statuses(scans: list[tuple[datetime, str]]) -> list[str]:
    return [status for _, status in scans if status != "delayed"]  # a late parcel's delay falls anywhere


def test_each_trouble_path_goes_on_as_a_real_parcel_does(tmp_path: Path) -> None:
    store = Store(LONG, "secret")
    scans, fulfilments = parcels(store)
    truth = store.truth
    # the paths whose last scan fell before the horizon (the scans after it are never sent)
    by_path = {path: [t for t in truth.trouble if t.path == path and t.ended_at <= truth.horizon] for path in PATHS}
    assert all(by_path.values()), Counter(t.path for t in truth.trouble)
    for t in by_path[ATTEMPTED]:
        assert statuses(scans[t.order_id])[-4:] == ["out_for_delivery", ATTEMPTED, "out_for_delivery", "delivered"]
        assert t.ended == "delivered" and t.ended_at - t.at > timedelta(hours=19)
    for t in by_path[PICKUP]:
        assert statuses(scans[t.order_id])[-2:] == ["ready_for_pickup", "picked_up"] and t.ended == "collected"
    for t in by_path[RETURNED]:
        assert statuses(scans[t.order_id])[-3:][:2] == ["out_for_delivery", ATTEMPTED]
        assert t.ended == "returned" and timedelta(days=1) <= t.ended_at - t.at <= timedelta(days=5)
        assert t.order_id in truth.needs_person  # returned to sender, unless a person was needed before
    acted = [t for t in by_path[BUYER] if t.acted_at is not None]
    waited = [t for t in by_path[BUYER] if t.acted_at is None]
    assert acted and waited
    for t in acted:
        assert t.acted_at is not None and timedelta(hours=2) <= t.acted_at - t.at <= timedelta(hours=48)
        assert statuses(scans[t.order_id])[-4:] == ["buyer_action_required", "in_transit", "out_for_delivery",
                                                    "delivered"]
    for t in waited:
        assert t.ended == "returned" and timedelta(days=7) <= t.ended_at - t.at <= timedelta(days=14)
        assert t.order_id in truth.needs_person
        assert statuses(scans[t.order_id])[-2:] == ["buyer_action_required", "returning_to_sender"]
    # every status the simulated carrier scans is one the desk classifies, and a fulfilment keeps its tracking
    assert {status for s in scans.values() for _, status in s} <= set(KINDS)
    assert fulfilments and all(f["tracking_number"] and f["tracking_number"] == f["tracking_numbers"][0]
                               for f in fulfilments)
    truth.save(tmp_path / "truth.json")
    assert load_truth(tmp_path / "truth.json").trouble == truth.trouble


def test_the_paths_come_at_their_documented_shares_and_the_same_for_a_seed() -> None:
    store, again = Store(LONG, "secret"), Store(LONG, "secret")
    scans, _ = parcels(store)
    list(again)
    assert store.truth.trouble == again.truth.trouble and store.truth.digest == again.truth.digest
    last_leg = {"delivered", "picked_up", ATTEMPTED, "buyer_action_required", "ready_for_pickup"}
    seen = sum(1 for s in scans.values() if last_leg.intersection(status for _, status in s))
    counts = Counter(t.path for t in store.truth.trouble)
    for path in PATHS:
        share = getattr(LONG.carrier_trouble, path)
        assert 0.5 * share <= counts[path] / seen <= 1.6 * share, (path, counts, seen)


def about(delivery: Delivery) -> int | None:
    """The order a delivery is about (an order's own id; None for the shop's stock and discounts)."""
    body = orjson.loads(delivery.body)
    return body.get("order_id") or (body["id"] if delivery.topic.startswith("orders/") else None)


def test_a_parcel_in_trouble_leaves_the_rest_of_the_stores_deliveries_as_they_were() -> None:
    """The trouble draws from a generator of its own, and a troubled parcel still makes the draws of the first
    attempt it replaced: every other delivery is the one the store sends when no parcel meets trouble."""
    short = replace(LONG, seed=3, history=timedelta(days=2), follow=timedelta(days=1))
    troubled, calm = Store(short, "secret"), Store(replace(short, carrier_trouble=Shares(0, 0, 0, 0)), "secret")
    sent, quiet = list(troubled), list(calm)
    away = {t.order_id for t in troubled.truth.trouble}
    assert away and calm.truth.trouble == []
    assert [(d.at, d.headers, d.body) for d in sent if about(d) not in away] == \
        [(d.at, d.headers, d.body) for d in quiet if about(d) not in away]
