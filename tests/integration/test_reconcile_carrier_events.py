"""A carrier event recovered by the reconciliation sweep has the consequences of the webhook it replaces (ADR 0040).

Over real HTTP, on SQLite and PostgreSQL: webhooks into the desk's intake, the sweep's reads from the fake Admin API
(``fulfillment(id:) { events }``). The starter carrier-delays playbook decides ``fulfillment_event.created``: a lost
delay must still email the customer once, a lost failed delivery still open one case, whether the real webhook
never comes, comes before the sweep, or comes after it (before or after the pipeline ran).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsdesk.connectors import shopify_reads
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration.http_harness import serving
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    arrive_late,
    build,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    decisions_on,
    drain,
    post,
)
from tests.integration.test_reconcile_changes import cases_of, shipped
from tests.samples import SHOP, delivery, sample

SHIP, SCAN, DELIVERED = T0 + timedelta(minutes=90), T0 + timedelta(hours=3), T0 + timedelta(hours=4)


def carrier_event(event_id: int, scanned: dict[str, Any], status: str, at: datetime) -> dict[str, Any]:
    """Shopify's ``fulfillment_events/create`` sample for the fulfilment ``scanned``, at ``status``, happened ``at``."""
    body = sample("fulfillment_events/create")
    body.update(
        id=event_id,
        admin_graphql_api_id=f"gid://shopify/FulfillmentEvent/{event_id}",
        fulfillment_id=scanned["id"],
        order_id=scanned["order_id"],
        status=status,
        message=f"carrier says {status}",
        happened_at=at.isoformat(),
        created_at=at.isoformat(),
        updated_at=at.isoformat(),
    )
    return body


def emails(smtp: RecordingConnector) -> Counter[tuple[int | None, str]]:
    return Counter((a.order_id, str(a.payload.get("template"))) for a in smtp.sent)


def superseded_rules(desk: Any, order_id: int) -> list[str]:
    """The event keys decided on the order as superseded (the reserved rule id)."""
    with desk.db.unit_of_work(read_only=True) as uow:
        return [d.event_key for d in uow.decisions.for_order(SHOP, order_id) if d.rule_id == "superseded"]


def test_lost_carrier_events_are_recovered_and_a_delay_or_a_failure_is_acted_on_once_whichever_comes_first(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Callable[[str], str],  # noqa: F811
) -> None:
    # Each order is shipped (fulfillments/create, "confirmed"; its orders/updated), then the carrier reports:
    # a: delayed; the carrier event's webhook alone was lost (its fulfillments/update and orders/updated arrived).
    # b: failure; every webhook of it was lost. c: delayed; every webhook arrived before the sweep.
    # d: delayed, f: failure; only the carrier event was late: it arrives after the sweep appended it, before the
    # pipeline ran. e: delayed, then delivered; every webhook of both was lost: both are recovered, and the delay,
    # which happened before the delivery the desk now holds, is superseded: no email for a parcel that arrived.
    orders = {k: _order(n) for k, n in zip("abcdef", (2, 5, 8, 11, 14, 17), strict=True)}
    ids = {k: versions[-1][1]["id"] for k, versions in orders.items()}
    first = {
        k: shipped(versions[-1][1], 8_400_000_000 + n, SHIP, "confirmed")
        for n, (k, versions) in enumerate(orders.items())
    }
    status = {
        "a": "delayed",
        "b": "failure",
        "c": "delayed",
        "d": "delayed",
        "e": "delivered",
        "f": "failure",
    }
    last = {k: DELIVERED if k == "e" else SCAN for k in orders}
    now = {k: {**first[k], "shipment_status": status[k], "updated_at": last[k].isoformat()} for k in orders}
    order_now = {
        k: {
            **orders[k][-1][1],
            "fulfillment_status": "fulfilled",
            "fulfillments": [now[k]],
            "updated_at": last[k].isoformat(),
        }
        for k in orders
    }
    events = {
        k: carrier_event(8_500_000_000 + n, now[k], "failure" if k in "bf" else "delayed", SCAN)
        for n, k in enumerate(orders)
    }
    delivered_e = carrier_event(8_500_000_100, now["e"], "delivered", DELIVERED)
    shipping = [
        (SHIP, delivery(topic, body, f"w-{k}-ship-{topic}", triggered_at=SHIP))
        for k in orders
        for topic, body in (
            ("fulfillments/create", first[k]),
            ("orders/updated", {**order_now[k], "fulfillments": [first[k]], "updated_at": SHIP.isoformat()}),
        )
    ]
    arrived = [
        (SCAN, delivery(topic, body, f"w-{k}-scan-{topic}", triggered_at=SCAN))
        for k in "acdf"
        for topic, body in (("fulfillments/update", now[k]), ("orders/updated", order_now[k]))
    ]
    arrived.append((SCAN, delivery("fulfillment_events/create", events["c"], "w-c-event", triggered_at=SCAN)))
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "carrier", database("carrier"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        arrive_created_and_paid(desk, clock, list(orders.values()), *shipping, *arrived)
        assert emails(smtp) == Counter({(ids["c"], "carrier_delay_notice"): 1})  # c's carrier event arrived
        for k in orders:
            fake.put_order_payload(order_now[k])
            fake.store.put_fulfilment_event(events[k])
        fake.store.put_fulfilment_event(delivered_e)

        clock.set(DELIVERED + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (ids["b"], "order", "orders/updated", "stale"),
            (ids["b"], f"fulfillment:{now['b']['id']}", "fulfillments/update", "stale"),
            (ids["e"], "order", "orders/updated", "stale"),
            (ids["e"], f"fulfillment:{now['e']['id']}", "fulfillments/update", "stale"),
            *[
                (ids[k], f"carrier_event:{e['id']}", "fulfillment_events/create", "undecided")
                for k, e in (
                    ("a", events["a"]),
                    ("b", events["b"]),
                    ("d", events["d"]),
                    ("f", events["f"]),
                    ("e", delivered_e),
                    ("e", events["e"]),
                )
            ],  # in the listing's order (e changed last); a fulfilment's events newest first (ADR 0065)
        ]
        assert report.carrier_events_seen == 7
        # d's and f's carrier events, retried by Shopify, arrive after the sweep and before the pipeline runs.
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            for k in "df":
                assert (
                    post(
                        client,
                        url,
                        delivery("fulfillment_events/create", events[k], f"w-{k}-event", triggered_at=SCAN),
                    )
                    == 200
                )
        drain(desk)

        # One delay email per delayed parcel still on its way, one failed-delivery case per failure; e none.
        assert emails(smtp) == Counter({(ids[k], "carrier_delay_notice"): 1 for k in "acd"})
        assert {k: [queue for _, queue in cases_of(desk, ids[k])] for k in orders} == {
            "a": [],
            "b": ["fulfilment"],
            "c": [],
            "d": [],
            "e": [],
            "f": ["fulfilment"],
        }
        decided = {k: decisions_on(desk, ids[k]) for k in orders}
        # Each carrier event decided once (by the carrier-delays playbook); e's delay as superseded by its delivery.
        assert {
            k: [(key, p) for key, p in decided[k] if key == f"fulfillment_event.created:{events[k]['id']}"]
            for k in orders
        } == {k: [(f"fulfillment_event.created:{events[k]['id']}", "carrier-delays")] for k in orders}
        assert superseded_rules(desk, ids["e"]) == [f"fulfillment_event.created:{events['e']['id']}"]
        with desk.db.unit_of_work(read_only=True) as uow:
            held = {k: uow.orders.find(SHOP, ids[k]) for k in orders}  # type: ignore[arg-type]
        assert {k: s.shipments[now[k]["id"]].status if s else None for k, s in held.items()} == status

        again = reconciler.sweep(SHOP, since=T0)  # the same window again: the events read, none appended
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []

        # The real carrier events Shopify gave up on turn up after all: the same events, decided already.
        arrive_late(
            desk, "fulfillment_events/create", [(events[k], SCAN) for k in "abe"] + [(delivered_e, DELIVERED)]
        )
        assert emails(smtp) == Counter({(ids[k], "carrier_delay_notice"): 1 for k in "acd"})
        assert {k: decisions_on(desk, ids[k]) for k in orders} == decided
        assert [len(cases_of(desk, ids[k])) for k in orders] == [0, 1, 0, 0, 0, 1]


def test_a_fulfilment_with_more_carrier_events_than_a_page_is_read_to_its_end_in_the_order_they_happened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fulfilment = {"id": 8_400_000_900, "order_id": 4_000_000_000_000_000_900}
    happened = [SHIP + timedelta(minutes=(37 * n) % 120) for n in range(120)]  # stored out of order
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        for n, at in enumerate(happened):
            fake.store.put_fulfilment_event(carrier_event(8_600_000_000 + n, fulfilment, "in_transit", at))
        shopify = ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0)
        read = shopify.fulfillment_events(SHOP, f"gid://shopify/Fulfillment/{fulfilment['id']}")
        gone = shopify.fulfillment_events(SHOP, "gid://shopify/Fulfillment/1")
        monkeypatch.setattr(shopify_reads, "EVENT_PAGES", 2, raising=False)
        cut = shopify.fulfillment_events(SHOP, f"gid://shopify/Fulfillment/{fulfilment['id']}")
    # All of them, and said so; none of a fulfilment that is gone, and not all; 100 of 120 read in two pages, not all.
    assert isinstance(read, dict) and read["complete"] is True and gone == {"nodes": [], "complete": False}
    assert isinstance(cut, dict) and (len(cut["nodes"]), cut["complete"]) == (100, False)
    assert [n["happenedAt"] for n in read["nodes"]] == [
        at.strftime("%Y-%m-%dT%H:%M:%SZ") for at in sorted(happened)
    ]
    assert len({n["id"] for n in read["nodes"]}) == 120
    assert [c.operation for c in fake.calls].count("fulfillment") == 6  # 50, 50, 20; the one gone; 50, 50
