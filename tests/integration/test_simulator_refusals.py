"""A simulated store sends an order whose name is too long for its column, on PostgreSQL: the run goes on.

PostgreSQL refuses an 80-character order name (``orders.name`` holds 64) and with it the whole transaction
that stores and processes a tick's batch. The simulator's intake then goes on as ``opsdesk ingest`` does
(ADR 0030): the batch stored one delivery per transaction (one it cannot store, its API version header too
long, is counted refused), processed one at a time; the deliveries that carry the name fail, with the
database's reason, and everything else is decided as it would have been.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from opsdesk import app as composition
from opsdesk.cli_simulate import stand_ins
from opsdesk.config import load_settings
from opsdesk.simulator.run_state import VirtualClock
from opsdesk.simulator.runner import InProcess
from opsdesk.simulator.scenario import Scenario
from opsdesk.simulator.shaping import Order, Renderer
from opsdesk.simulator.store import Delivery, Store
from opsdesk.simulator.truth import Truth
from opsdesk.storage.sql import SqlDatabase
from tests.integration.desk_harness import write_config
from tests.samples import SECRET

pytestmark = pytest.mark.postgres

SMALL = Scenario(
    name="small",
    seed=11,
    start=datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
    duration=timedelta(hours=20),
    follow=timedelta(hours=4),
    orders_per_day=30,
    products=10,
    tick=timedelta(minutes=10),
)
LONG_NAME = "#" + "9" * 80
TOO_LONG = "value too long for type character varying(64)"
LONG_VERSION = "2026-07-" + "x" * 30  # deliveries.api_version holds 32


class TooLong(Renderer):
    """The store's renderer, but its third order is named with 80 characters, and the fifth order's creation
    is sent with an API version header the database cannot store."""

    def order(
        self, o: Order, at: datetime, financial: str, fulfillment: str | None, **extra: Any
    ) -> dict[str, Any]:
        payload = super().order(o, at, financial, fulfillment, **extra)
        return {**payload, "name": LONG_NAME} if o.number == 3 else payload

    def sign(
        self, topic: str, payload: dict[str, Any], at: datetime, webhook_id: str, event_id: str
    ) -> tuple[dict[str, str], bytes]:
        headers, body = super().sign(topic, payload, at, webhook_id, event_id)
        if topic == "orders/create" and payload["number"] == 5:
            headers["X-Shopify-API-Version"] = LONG_VERSION
        return headers, body


@dataclass
class Recorded:
    """A store whose deliveries are kept as they are sent."""

    store: Store
    sent: list[Delivery] = field(default_factory=list)

    @property
    def s(self) -> Scenario:
        return self.store.s

    @property
    def truth(self) -> Truth:
        return self.store.truth

    def __iter__(self) -> Iterator[Delivery]:
        for d in self.store:
            self.sent.append(d)
            yield d


@pytest.mark.parametrize("batch", [500, 1], ids=["a batch a tick", "batches a tick"])
def test_the_deliveries_of_an_order_whose_name_postgresql_refuses_fail_alone_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, batch: int, caplog: pytest.LogCaptureFixture
) -> None:
    """With batches of one delivery, a tick of several is refused whole (one transaction), then goes on batch
    by batch: the other batches of the tick are decided as if nothing had been refused."""
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    settings = load_settings(str(write_config(tmp_path, limits={"batch_size": batch})), pg_url)
    store = Store(SMALL, SECRET)
    store.render = TooLong(SMALL.shop, SECRET)
    recorded = Recorded(store)
    with contextlib.ExitStack() as stack:
        settings, faults, connectors = stand_ins(settings, stack)
        clock = VirtualClock(SMALL.first_order_at)
        desk = composition.build(settings, clock=clock, connectors=connectors)
        stats = InProcess(desk, clock, recorded, faults=faults, people=False).run()

    named = {d.headers["X-Shopify-Webhook-Id"] for d in recorded.sent if LONG_NAME.encode() in d.body}
    unstorable = [d for d in recorded.sent if d.headers["X-Shopify-API-Version"] == LONG_VERSION]
    assert isinstance(desk.db, SqlDatabase)
    with desk.db.engine.connect() as conn:
        failed = conn.execute(text("SELECT webhook_id, error FROM deliveries WHERE status = 'failed'")).all()
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status")).all())
        orders = conn.execute(text("SELECT name FROM orders ORDER BY name")).scalars().all()
    desk.db.dispose()
    assert len(named) >= 2  # created, paid, ...: each refused on its own
    assert {webhook_id for webhook_id, _ in failed} == named
    assert {error for _, error in failed} == {f"refused by the database: {TOO_LONG}"}
    assert len(unstorable) >= 1  # not stored: counted refused, as intake's answer would be (422)
    sent = len(recorded.sent)
    assert (stats.deliveries, stats.refused, stats.pipeline.failed) == (sent, len(unstorable), len(named))
    assert statuses.keys() <= {"processed", "ignored", "failed"}, statuses
    assert ("deliveries were refused" in caplog.text and "; batch by batch" in caplog.text) == (batch == 1)
    # Every other order is stored with its name; the third and the fifth only from a delivery that does not
    # carry it (their risk assessment).
    others = [f"#{1000 + n}" for n in range(1, store.truth.orders + 1) if n not in (3, 5)]
    assert orders == sorted(["", "", *others])
