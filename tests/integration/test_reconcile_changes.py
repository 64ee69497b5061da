"""The reconciliation sweep recovers a return's later changes and a fulfilment's shipment status (ADR 0015,
amendment "later changes").

Over real HTTP: webhooks into the desk's intake, the sweep's reads from the fake Admin API, return labels bought
from the carrier stand-in, on SQLite and PostgreSQL. A ``returns/approve``, ``returns/decline`` or a shipment's
``fulfillments/update`` Shopify gave up on is read back on its order and folded and decided once by the ordinary
pipeline; the real webhook arriving after the sweep, and the next sweep, change nothing.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.domain.orders import Versioned
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services import stuck
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration.desk_harness import write_config
from tests.integration.fulfilment_harness import carrier_connector
from tests.integration.reconcile_harness import (
    T0,
    TOKEN,
    _order,
    arrive_created_and_paid,
    arrive_late,
    database,  # noqa: F401 (the fixture: SQLite and PostgreSQL)
    decisions_on,
    drain,
    states,
)
from tests.integration.test_reconcile_returns import CHEAP_LINE, DEAR_LINE, requested
from tests.pipeline_harness import STARTER
from tests.samples import SECRET, SHOP, delivery, sample


def build(tmp_path: Path, name: str, url: str, fake: FakeShopifyAdmin, carrier: FakeCarrier,
          monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Desk:
    """The starter playbooks, the Shopify connector on the fake Admin API, labels from the carrier stand-in."""
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    directory = tmp_path / name
    shutil.copytree(STARTER, directory / "playbooks")
    config = write_config(directory, playbooks=str(directory / "playbooks"),
                          connectors={"carrier": carrier_connector(carrier)},
                          reconcile={"page_size": 7, "period_minutes": 15, "overlap_minutes": 5})
    settings = load_settings(str(config), url)
    shopify = ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0)
    wired = {**composition.default_connectors(settings), "shopify": shopify, "smtp": RecordingConnector("smtp")}
    return composition.build(settings, clock=clock, connectors=wired)


def refunds(fake: FakeShopifyAdmin) -> Counter[tuple[int | None, str]]:
    return Counter((e.order_id, str(e.amount)) for e in fake.effects if e.kind == "refundCreate")


def change(topic: str, ret: dict[str, Any], order_id: int) -> dict[str, Any]:
    """Shopify's sample for a return's change (``returns/approve``, ``returns/decline``), for ``ret``."""
    body = sample(topic)
    body.update(id=ret["id"], admin_graphql_api_id=ret["admin_graphql_api_id"],
                order={"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"})
    return body


def test_lost_return_approvals_and_declines_are_recovered_in_causal_order_and_decided_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]  # noqa: F811
) -> None:
    # a: its returns/request arrived (a size on a 159.99 line: over the cap, a case), then it was approved in
    # Shopify and every webhook of the approval was lost: the label is never bought. b: a changed mind on a 19.99
    # line (refunded by the starter playbook if decided as a request), declined in Shopify, every webhook lost.
    # c: a changed mind on a 19.99 line, approved in Shopify, every webhook lost: request, then approval. g: as a,
    # but declined, and only the returns/decline was lost (the order's update arrived: the order is not behind, and
    # an order whose returns are all declined says NO_RETURN; it is read whole for the return the desk holds open).
    a, b, c, g = _order(2), _order(5), _order(8), _order(11)  # created, then paid
    at_a, approved_a, at_b, at_c, at_g, declined_g = (T0 + timedelta(minutes=m) for m in (50, 55, 60, 70, 80, 85))
    after = {i: {**o[-1][1], "updated_at": at.isoformat()}
             for i, (o, at) in enumerate(((a, approved_a), (b, at_b), (c, at_c), (g, declined_g)))}
    ret_a = requested(after[0], 9_400_000_001, DEAR_LINE, "size_too_small")
    ret_b = requested(after[1], 9_400_000_011, CHEAP_LINE, "unwanted")
    ret_c = requested(after[2], 9_400_000_021, CHEAP_LINE, "unwanted")
    ret_g = requested(after[3], 9_400_000_031, DEAR_LINE, "size_too_small")
    ids = [after[n]["id"] for n in range(4)]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake, FakeCarrier() as carrier:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk = build(tmp_path, "returns", database("changes"), fake, carrier, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        request_a, request_g = ({**o[-1][1], "updated_at": at.isoformat()} for o, at in ((a, at_a), (g, at_g)))
        arrive_created_and_paid(
            desk, clock, [a, b, c, g],
            (at_a, delivery("orders/updated", request_a, "w-a-req", triggered_at=at_a)),
            (at_a, delivery("returns/request", ret_a, "w-a-ret", triggered_at=at_a)),
            (at_g, delivery("orders/updated", request_g, "w-g-req", triggered_at=at_g)),
            (at_g, delivery("returns/request", ret_g, "w-g-ret", triggered_at=at_g)),
            (declined_g, delivery("orders/updated", after[3], "w-g-dec", triggered_at=declined_g)))
        [(case_a, queue_a)], [(case_g, queue_g)] = cases_of(desk, ids[0]), cases_of(desk, ids[3])
        assert queue_a == queue_g == "refunds" and carrier.labels == [] and refunds(fake) == Counter()
        assert states(desk, ids)[ids[0]].returns == {ret_a["id"]: Versioned("requested", at_a)}  # type: ignore[union-attr]
        for n in range(4):
            fake.put_order_payload(after[n])
        for ret, status, at in ((ret_a, "open", at_a), (ret_b, "declined", at_b), (ret_c, "open", at_c),
                                (ret_g, "declined", at_g)):
            fake.put_return_payload({**ret, "status": status, "created_at": (at - timedelta(minutes=5)).isoformat()})

        clock.set(T0 + timedelta(hours=2))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (ids[0], "order", "orders/updated", "stale"),
            (ids[0], f"return:{ret_a['id']}:approve", "returns/approve", "stale"),  # its request was decided
            (ids[1], "order", "orders/updated", "stale"),
            (ids[1], f"return:{ret_b['id']}:decline", "returns/decline", "missing"),  # never its request
            (ids[2], "order", "orders/updated", "stale"),
            (ids[2], f"return:{ret_c['id']}", "returns/request", "missing"),  # the request before its approval
            (ids[2], f"return:{ret_c['id']}:approve", "returns/approve", "missing"),
            (ids[3], f"return:{ret_g['id']}:decline", "returns/decline", "stale"),
        ]
        assert (report.returns_seen, report.appended) == (4, 8)
        drain(desk)
        # Shopify's refunds/create for the desk's refund of c's request (its order's read lists it too)
        arrive_late(desk, "refunds/create", [(body, at_c) for body in fake.refund_webhooks(ids[2])])

        recovered = states(desk, ids)
        assert {i: s.returns if s else None for i, s in recovered.items()} == {
            ids[0]: {ret_a["id"]: Versioned("open", approved_a)},
            ids[1]: {ret_b["id"]: Versioned("declined", at_b)},
            ids[2]: {ret_c["id"]: Versioned("open", at_c)},
            ids[3]: {ret_g["id"]: Versioned("declined", declined_g)},
        }
        # a and c approved: a label each, once; b declined: no refund, no request decided. c's request is
        # refunded once, as the starter playbook does for a changed mind inside the caps.
        assert sorted(label["reference"] for label in carrier.labels) == [f"return-{ret_a['id']}",
                                                                          f"return-{ret_c['id']}"]
        assert refunds(fake) == Counter({(ids[2], "19.99"): 1})
        decided = [decisions_on(desk, i) for i in ids]
        assert sorted(key for key, _ in decided[1] if "return" in key) == [f"return.declined:{ret_b['id']}"]
        assert cases_of(desk, ids[0]) == [(case_a, queue_a)] and cases_of(desk, ids[1]) == []
        assert cases_of(desk, ids[3]) == [(case_g, queue_g)]

        again = reconciler.sweep(SHOP, since=T0)  # the same window again: the returns read, none appended
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []

        # The real webhooks, retried by Shopify after the sweep: the same events, decided already.
        arrive_late(desk, "returns/approve", [(change("returns/approve", ret_a, ids[0]), approved_a),
                                              (change("returns/approve", ret_c, ids[2]), at_c)])
        arrive_late(desk, "returns/decline", [(change("returns/decline", ret_b, ids[1]), at_b),
                                              (change("returns/decline", ret_g, ids[3]), declined_g)])
        arrive_late(desk, "returns/request", [(ret_c, at_c - timedelta(minutes=5))])
        assert states(desk, ids) == recovered
        assert [decisions_on(desk, i) for i in ids] == decided
        assert len(carrier.labels) == 2 and refunds(fake) == Counter({(ids[2], "19.99"): 1})


def cases_of(desk: Desk, order_id: int) -> list[tuple[str, str]]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(c.id, c.queue) for c in uow.cases.for_order(SHOP, order_id)]


def shipped(order: dict[str, Any], fulfilment_id: int, at: Any, shipment: str) -> dict[str, Any]:
    """Shopify's ``fulfillments/update`` sample for ``order``'s fulfilment at ``at``, its ``shipment_status``."""
    body = sample("fulfillments/update")
    body.update(id=fulfilment_id, admin_graphql_api_id=f"gid://shopify/Fulfillment/{fulfilment_id}",
                order_id=order["id"], status="success", shipment_status=shipment, tracking_company="UPS",
                created_at=at.isoformat(), updated_at=at.isoformat())
    return body


def test_a_lost_shipment_update_is_recovered_for_the_carrier_watch_and_decided_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]  # noqa: F811
) -> None:
    # d: shipped (fulfillments/create, "confirmed"), then delivered: the carrier's scans and the fulfilment's
    # update were all lost; the order's own update arrived. e: shipped "in_transit", its projection stored before
    # the desk kept shipment statuses (no status held for it): the same version, read back, gives it.
    d, e = _order(2), _order(5)
    ship, delivered = T0 + timedelta(minutes=40), T0 + timedelta(hours=3)
    fid_d, fid_e = 8_300_000_002, 8_300_000_005
    created_d = shipped(d[-1][1], fid_d, ship, "confirmed")
    now_d = {**d[-1][1], "fulfillment_status": "fulfilled", "updated_at": delivered.isoformat(),
             "fulfillments": [{**created_d, "shipment_status": "delivered", "updated_at": delivered.isoformat()}]}
    created_e = shipped(e[-1][1], fid_e, ship, "in_transit")
    now_e = {**e[-1][1], "fulfillment_status": "fulfilled", "updated_at": ship.isoformat(), "fulfillments": [created_e]}
    ids = [now_d["id"], now_e["id"]]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake, FakeCarrier() as carrier:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk = build(tmp_path, "shipments", database("shipments"), fake, carrier, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        arrive_created_and_paid(
            desk, clock, [d, e],
            (ship, delivery("fulfillments/create", created_d, "w-d-ship", triggered_at=ship)),
            (ship, delivery("fulfillments/create", created_e, "w-e-ship", triggered_at=ship)),
            (ship, delivery("orders/updated", now_e, "w-e-upd", triggered_at=ship)),
            (delivered, delivery("orders/updated", now_d, "w-d-upd", triggered_at=delivered)))
        before = states(desk, ids)
        assert before[ids[0]].shipments == {fid_d: Versioned("confirmed", ship)}  # type: ignore[union-attr]
        assert stuck.stage(before[ids[0]]) == "fulfilled"  # type: ignore[arg-type]
        held_e = before[ids[1]]
        assert held_e is not None and held_e.shipments == {fid_e: Versioned("in_transit", ship)}
        with desk.db.unit_of_work() as uow:  # e as a desk before this change stored it
            # (and before it kept each fulfilment's reported status, ADR 0065: such a row decodes with none)
            uow.orders.put_many([replace(held_e, shipments={}, carrier_status=None, reported={})])
            uow.commit()
        for order in (now_d, now_e):
            fake.put_order_payload(order)

        clock.set(delivered + timedelta(minutes=15))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"], f["known_at"]) for f in report.found] == [
            (ids[1], f"fulfillment:{fid_e}", "fulfillments/update", "stale",  # e's order changed first
             (ship - timedelta(microseconds=1)).isoformat()),
            (ids[0], f"fulfillment:{fid_d}", "fulfillments/update", "stale", ship.isoformat()),
        ]
        decided = [decisions_on(desk, i) for i in ids]
        drain(desk)

        recovered = states(desk, ids)
        assert {i: (s.shipments, s.carrier_status) if s else None for i, s in recovered.items()} == {
            ids[0]: ({fid_d: Versioned("delivered", delivered)}, Versioned("delivered", delivered)),
            ids[1]: ({fid_e: Versioned("in_transit", ship)}, Versioned("in_transit", ship)),
        }
        assert stuck.stage(recovered[ids[0]]) is None  # type: ignore[arg-type]  # delivered: the watch ends
        after = [decisions_on(desk, i) for i in ids]
        assert after[1] == decided[1]  # e's version was decided when it arrived: the same event, not news
        assert [k for k in after[0] if k not in decided[0]] == [
            (f"fulfillment.changed:{fid_d}:{delivered.isoformat()}", "-")]

        again = reconciler.sweep(SHOP, since=T0)  # the same window again: nothing behind
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []

        # The real fulfillments/update for d, retried by Shopify after the sweep: decided already.
        arrive_late(desk, "fulfillments/update", [(now_d["fulfillments"][0], delivered)])
        assert states(desk, ids) == recovered
        assert [decisions_on(desk, i) for i in ids] == after
