"""The order stream, the outage and the running desk the reconciliation sweep's tests share (SQLite, PostgreSQL)."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.domain.orders import OrderState
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import Reconciler
from opsdesk.testing import ManualClock, RecordingConnector
from tests.conftest import postgres_server_url
from tests.integration.desk_harness import make_desk
from tests.integration.http_harness import serving
from tests.pipeline_harness import STARTER
from tests.samples import SHOP, delivery, sample

TOKEN = "shpat_reconcile"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORDERS = 60
OUTAGE = (T0 + timedelta(minutes=32), T0 + timedelta(hours=5, minutes=2))  # 4.5 h: longer than Shopify's 4 h of retries
RETRY_WINDOW = timedelta(hours=4)
PERIOD = timedelta(minutes=15)
PROBE_PLAYBOOK = """\
playbook: cancellations
owner: team:ops
description: A cancelled order gets a note in Shopify and an email to the customer (a probe for effects).
default: ignore
rules:
  - id: note-cancelled
    when: [order.updated]
    if: order.cancelled
    then:
      - {type: note, note: "opsdesk: cancellation seen"}
      - {type: email, template: generic, message: "Your order was cancelled."}
"""
REFUND_PLAYBOOK = """\
playbook: refund-notice
owner: team:support
description: A refund made in Shopify gets a tag on the order and an email to the customer (a probe for effects).
default: ignore
rules:
  - id: tag-refunded
    when: [refund.created]
    if: event.amount > 0.0
    then:
      - {type: add_tags, tags: [refund-seen]}
      - {type: email, template: generic, message: "Your refund is on its way."}
"""


# -- the stream -------------------------------------------------------------------------------------


def _order(n: int) -> list[tuple[datetime, dict[str, Any]]]:
    """One order's versions, oldest first: created (pending), paid, then cancelled or fulfilled or nothing."""
    created = T0 + timedelta(minutes=5 * n)
    order = sample("orders/create")
    order_id = 4_000_000_000_000_000_000 + n
    order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
                 name=f"#{2000 + n}", email=f"c{n}@example.com", created_at=created.isoformat(),
                 updated_at=created.isoformat(), cancelled_at=None, cancel_reason=None,
                 financial_status="pending", fulfillment_status=None, tags="")
    order["customer"]["id"] = 9_100_000 + n
    versions = [(created, order)]
    paid_at = created + timedelta(minutes=2)
    versions.append((paid_at, {**order, "financial_status": "paid", "updated_at": paid_at.isoformat()}))
    last_at = created + timedelta(minutes=4)
    if n % 3 == 0:
        versions.append((last_at, {**versions[-1][1], "cancelled_at": last_at.isoformat(), "cancel_reason": "customer",
                                   "financial_status": "voided", "updated_at": last_at.isoformat()}))
    elif n % 3 == 1:
        versions.append((last_at, {**versions[-1][1], "fulfillment_status": "fulfilled", "tags": "vip, gift",
                                   "fulfillments": [fulfilment(n, order_id, last_at)],
                                   "updated_at": last_at.isoformat()}))
    return versions


def fulfilment(n: int, order_id: int, at: datetime) -> dict[str, Any]:
    found = sample("fulfillments/create")
    found.update(id=8_200_000 + n, order_id=order_id, status="success", shipment_status=None,
                 tracking_company="UPS", created_at=at.isoformat(), updated_at=at.isoformat())
    return found


_TOPIC = {0: "orders/create", 1: "orders/paid"}


def stream() -> tuple[list[tuple[datetime, dict[str, Any]]], dict[int, dict[str, Any]]]:
    """Every delivery (Shopify sends orders/updated with each change, plus the change's own topic) in
    trigger order, and each order's true current version."""
    deliveries: list[tuple[datetime, dict[str, Any]]] = []
    current: dict[int, dict[str, Any]] = {}
    for n in range(ORDERS):
        versions = _order(n)
        for v, (at, payload) in enumerate(versions):
            topic = _TOPIC.get(v) or ("orders/cancelled" if payload["cancelled_at"] else "orders/fulfilled")
            for t in (topic, "orders/updated"):
                deliveries.append((at, delivery(t, payload, f"w-{n}-{v}-{t}", triggered_at=at)))
            for item in payload.get("fulfillments") or []:
                t = "fulfillments/create"
                deliveries.append((at, delivery(t, item, f"w-{n}-{v}-{t}", triggered_at=at)))
        current[versions[-1][1]["id"]] = versions[-1][1]
    deliveries.sort(key=lambda d: d[0])
    return deliveries, current


# -- a running desk ---------------------------------------------------------------------------------


def appended_for(orders: list[dict[str, Any]]) -> int:
    """Deliveries a sweep appends for orders the desk never heard of: each order, fulfilment and refund."""
    return sum(1 + len(o.get("fulfillments") or []) + len(o.get("refunds") or []) for o in orders)


def post(client: httpx.Client, url: str, d: dict[str, Any]) -> int:
    return client.post(url, content=d["body"].encode(), headers=d["headers"]).status_code


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A fresh database URL per name, on the backend under test."""
    schemas: list[str] = []
    server: Engine | None = request.getfixturevalue("pg_server") if request.param == "postgres" else None

    def url(name: str) -> str:
        if server is None:
            return f"sqlite:///{tmp_path / name}.db"
        schema = f"opsdesk_test_{uuid.uuid4().hex[:12]}"
        with server.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        found = make_url(postgres_server_url()).update_query_dict({"options": f"-csearch_path={schema}"})
        return found.render_as_string(hide_password=False)

    yield url
    if server is not None:
        with server.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def build(tmp_path: Path, name: str, url: str, fake: FakeShopifyAdmin, monkeypatch: pytest.MonkeyPatch,
          clock: ManualClock, probes: tuple[str, ...] = ()) -> tuple[Desk, RecordingConnector]:
    directory = tmp_path / name
    playbooks = directory / "playbooks"
    shutil.copytree(STARTER, playbooks)
    (playbooks / "cancellations.yaml").write_text(PROBE_PLAYBOOK)
    for n, probe in enumerate(probes):
        (playbooks / f"probe_{n}.yaml").write_text(probe)
    smtp = RecordingConnector("smtp")
    shopify = ShopifyAdmin(fake.url_for, lambda _shop: TOKEN, timeout=5.0)
    desk = make_desk(directory, monkeypatch, database_url=url, clock=clock,
                     connectors={"shopify": shopify, "smtp": smtp}, playbooks=str(playbooks),
                     reconcile={"page_size": 7, "period_minutes": 15, "overlap_minutes": 5})
    return desk, smtp


def drain(desk: Desk) -> None:
    desk.process_pending()
    sender = desk.sender()
    while sender.run_once():
        pass


def arrive_created_and_paid(desk: Desk, clock: ManualClock, orders: list[list[tuple[datetime, dict[str, Any]]]],
                            *more: tuple[datetime, dict[str, Any]]) -> None:
    """Each order's versions (``_order``: created, then paid) on their topic and ``orders/updated``, and ``more``
    deliveries, through the intake in trigger order, the clock following; then the pipeline and the outbox run."""
    arriving = [(at, delivery(topic, payload, f"w-{payload['id']}-{v}-{topic}", triggered_at=at))
                for versions in orders for v, (at, payload) in enumerate(versions)
                for topic in (_TOPIC[v], "orders/updated")]
    with serving(desk) as url, httpx.Client(timeout=10) as client:
        for at, d in sorted([*arriving, *more], key=lambda x: x[0]):
            clock.set(at)
            assert post(client, url, d) == 200
    drain(desk)


def arrive_late(desk: Desk, topic: str, bodies: list[tuple[dict[str, Any], datetime]]) -> None:
    """The real webhooks for ``bodies`` (each with its trigger time), retried by Shopify after a sweep, through
    the intake; then the pipeline and the outbox run."""
    with serving(desk) as url, httpx.Client(timeout=10) as client:
        for body, at in bodies:
            late = delivery(topic, body, f"w-{topic}-{body['id']}", triggered_at=at)
            assert post(client, url, late) == 200
    drain(desk)


def states(desk: Desk, ids: list[int]) -> dict[int, OrderState | None]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return {i: uow.orders.find(SHOP, i) for i in ids}  # type: ignore[arg-type]


def differing(after: dict[int, OrderState | None], expected: dict[int, OrderState | None]) -> list[int]:
    """The orders whose recovered state is not the no-drop run's, history aside: a sweep cannot give back when
    an order was first seen awaiting payment and paid (lost with the deliveries that showed it), so the
    promise of an order paid after it was placed runs from the first sighting of it paid that the desk got
    (or from its order time, when none showed it awaiting payment), not the payment's exact time."""
    wrong = []
    for i, wanted in expected.items():
        recovered = after[i]
        if recovered and wanted:
            late = wanted.paid_late_at != recovered.paid_late_at
            recovered = replace(recovered, ship_by=wanted.ship_by if late else recovered.ship_by,
                                first_awaiting_at=wanted.first_awaiting_at, first_paid_at=wanted.first_paid_at)
        if recovered != wanted:
            wrong.append(i)
    return wrong


def action_ids(desk: Desk, ids: list[int]) -> list[str]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [a.id for i in ids for a in uow.outbox.for_order(SHOP, i)]


def mutations(fake: FakeShopifyAdmin) -> Counter[tuple[str, str]]:
    queries = ("orders", "order", "refund", "shopifyPaymentsAccount")  # a refund's shipping lines are read apart
    return Counter((c.operation, c.key) for c in fake.calls if c.operation not in queries)


def swept_once(
    tmp_path: Path, name: str, database: Callable[[str], str], fake: FakeShopifyAdmin,
    monkeypatch: pytest.MonkeyPatch, clock: ManualClock,
) -> tuple[Any, Reconciler, list[float]]:
    """A desk whose first sweep (of nothing yet) set the mark; its reconciler records the waits it asks for."""
    desk, _ = build(tmp_path, name, database(name), fake, monkeypatch, clock)
    reconciler = desk.reconciler()
    assert isinstance(reconciler, Reconciler)
    waits: list[float] = []
    reconciler.sleep = waits.append
    assert reconciler.sweep(SHOP).ok
    return desk, reconciler, waits


def decisions_on(desk: Desk, order_id: int) -> list[tuple[str, str]]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(d.event_key, d.playbook) for d in uow.decisions.for_order(SHOP, order_id)]


def refunded(order: dict[str, Any], refund_id: int, at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Shopify's ``refunds/create`` sample (85.00 USD through two refund transactions) made on ``order`` at
    ``at``, and the order as it is after it: the refund moved its ``updated_at``."""
    refund = sample("refunds/create")
    refund.update(id=refund_id, order_id=order["id"], created_at=at.isoformat(), processed_at=at.isoformat(),
                  note="Damaged in transit")
    after = {**order, "financial_status": "partially_refunded", "updated_at": at.isoformat(), "refunds": [refund]}
    return refund, after
