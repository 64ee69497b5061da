"""Deliveries about a customer that arrive after their erasure, on a SQLite file and on PostgreSQL (ADR 0021).

Shopify retries a webhook for hours, so an order update can arrive after ``customers/redact`` has erased
the customer. It goes through the real HTTP intake and pipeline like any delivery; the personal data in
it must never be stored in the clear, while the order's facts are still processed and another
customer's deliveries are stored as sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.privacy import PrivacySubject
from opsdesk.ports import UnitOfWork
from opsdesk.services.ahead import Ahead
from opsdesk.services.audit import verify_audit
from opsdesk.services.privacy import redact_customer
from opsdesk.simulator.runner import InProcess
from opsdesk.simulator.store import Delivery
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import pack, unpack
from opsdesk.storage.sql import SqlDatabase
from opsdesk.web.app import create_app
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, order_id_of, return_request
from tests.integration.test_privacy import (
    BARTHOLOMEW,
    WILHELMINA,
    address,
    compliance,
    desk_day,  # noqa: F401  (the fixture: two customers' day at the desk)
    dump,
    occurrences,
    order_of,
    personal_values,
    post,
    send,
)
from tests.samples import SECRET, SHOP, delivery, sample

LATE = MONDAY_9AM.replace(hour=20).isoformat()


def late_update(person: dict[str, Any], n: int, price: str) -> dict[str, Any]:
    """Shopify's order, updated after the erasure: tagged for a fraud review by a flow."""
    payload = order_of(person, n, price)
    payload.update(updated_at=LATE, tags="fraud-hold")
    return payload


def late_shipment(person: dict[str, Any], n: int) -> dict[str, Any]:
    """Shopify's ``fulfillments/update`` sample for order ``n``: only the order id says whose it is."""
    payload = sample("fulfillments/update")
    destination = {**address(person), "name": f"{person['first_name']} {person['last_name']}"}
    payload.update(order_id=order_id_of(n), email=person["email"], destination=destination, updated_at=LATE)
    return payload


def stored_body(db: SqlDatabase, webhook_id: str) -> bytes:
    with db.engine.connect() as conn:
        query = select(t.deliveries.c.body).where(t.deliveries.c.webhook_id == webhook_id)
        return unpack(bytes(conn.execute(query).scalar_one()))  # stored packed (ADR 0031)


def erase_wilhelmina(s: Scenario) -> None:
    send(s, "customers/redact", compliance("customers/redact", WILHELMINA, [order_id_of(1), order_id_of(2)]), "r-1")
    assert occurrences(dump(s.desk.db), personal_values(WILHELMINA)) == []  # type: ignore[arg-type]


def test_a_late_delivery_about_an_erased_customer_is_stored_erased_and_still_processed(desk_day: Scenario) -> None:  # noqa: F811
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    erase_wilhelmina(desk_day)
    send(desk_day, "orders/updated", late_update(WILHELMINA, 2, "450.00"), "late-w")
    send(desk_day, "fulfillments/update", late_shipment(WILHELMINA, 1), "late-w-ship")
    theirs = late_update(BARTHOLOMEW, 3, "450.00")
    send(desk_day, "orders/updated", theirs, "late-b")

    after = dump(db)
    assert occurrences(after, personal_values(WILHELMINA)) == []
    assert occurrences(after, ["6135550142"]) == []  # the phone in any punctuation
    assert stored_body(db, "late-b") == orjson.dumps(theirs)  # another customer's delivery, as sent
    # The order's facts are still processed: the tag folded into the order, the rule decided on it.
    with db.unit_of_work(read_only=True) as uow:
        state = uow.orders.find(SHOP, order_id_of(2))  # type: ignore[arg-type]
        decided = uow.decisions.for_order(SHOP, order_id_of(2))  # type: ignore[arg-type]
    assert state is not None and state.snapshot is not None and "fraud-hold" in state.snapshot.tags
    assert ("order.updated", "risk") in {(d.event_name, d.playbook) for d in decided}
    # The redaction on arrival is in the audit trail, without the data it erased.
    with db.engine.connect() as conn:
        query = select(t.audit.c.subject, t.audit.c.after).where(t.audit.c.action == "privacy.redacted_on_arrival")
        audited = [(subject, json.loads(after)) for subject, after in conn.execute(query)]
    whom = f"customer:{SHOP}:{WILHELMINA['customer_id']}"
    assert sorted((s, a["webhook_id"], a["topic"]) for s, a in audited) == [
        (whom, "late-w", "orders/updated"), (whom, "late-w-ship", "fulfillments/update")]
    with db.unit_of_work(read_only=True) as uow:
        assert verify_audit(uow).ok


def test_a_late_delivery_replayed_by_opsdesk_ingest_is_stored_erased(desk_day: Scenario, tmp_path: Path) -> None:  # noqa: F811
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    erase_wilhelmina(desk_day)
    recorded = tmp_path / "late.jsonl"
    recorded.write_bytes(orjson.dumps(delivery("orders/updated", late_update(WILHELMINA, 2, "450.00"), "late-i")))
    url = db.engine.url.render_as_string(False)
    result = CliRunner().invoke(cli, ["ingest", str(recorded), "--config", str(desk_day.desk.settings.config_path),
                                      "--database-url", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored"] == 1
    assert occurrences(dump(db), personal_values(WILHELMINA)) == []


def test_an_order_the_reconciliation_sweep_finds_after_the_erasure_is_stored_erased(desk_day: Scenario) -> None:  # noqa: F811
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    erase_wilhelmina(desk_day)
    desk_day.clock.advance(hours=6)  # its webhook was lost; the Admin API has the order as it is now
    desk_day.shopify.put_order_payload(late_update(WILHELMINA, 2, "450.00") | {"updated_at": desk_day.clock.now()})
    reconciler = desk_day.desk.reconciler()
    assert reconciler is not None
    report = reconciler.sweep(SHOP, since=MONDAY_9AM)
    desk_day.work()
    assert report.appended == 1
    assert occurrences(dump(db), personal_values(WILHELMINA)) == []


def test_a_batch_read_before_an_erasure_committed_is_read_again_after_it(desk_day: Scenario) -> None:  # noqa: F811
    """The pipeline parses a batch outside its write transaction: an erasure may commit in between."""
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    with TestClient(create_app(desk_day.desk, background=False)) as client:  # stored, not processed yet
        assert post(client, "orders/updated", late_update(WILHELMINA, 2, "450.00"), "early-w") == 200
    subject = PrivacySubject(SHOP, WILHELMINA["customer_id"], WILHELMINA["email"], WILHELMINA["phone"],
                             frozenset({order_id_of(1), order_id_of(2)}))
    transactions = 0

    def erasing_after_the_first_read(*, read_only: bool = False) -> UnitOfWork:
        nonlocal transactions
        transactions += 1
        if transactions == 2:  # the batch was read and parsed; the timer sweep erases her now
            with db.unit_of_work() as uow:
                redact_customer(uow, subject, desk_day.clock.now())
                uow.commit()
        return db.unit_of_work(read_only=read_only)

    desk_day.desk.db = _Database(db, erasing_after_the_first_read)
    assert desk_day.desk.process_pending().deliveries == 1
    assert occurrences(dump(db), personal_values(WILHELMINA)) == []
    assert transactions == 3  # the first read; the batch read again, as the erasure left it; the batch


class _Database:
    """The database, with transactions opened by ``unit_of_work`` as given."""

    def __init__(self, db: SqlDatabase, unit_of_work: Any) -> None:
        self._db, self.unit_of_work = db, unit_of_work

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_redaction_repeated_after_the_erasure_is_about_that_customer_only(desk_day: Scenario) -> None:  # noqa: F811
    """The repeated request arrives erased: ``[redacted]`` is the email of every erased customer's orders."""
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    erase_wilhelmina(desk_day)
    send(desk_day, "customers/redact", compliance("customers/redact", BARTHOLOMEW, [order_id_of(3)]), "r-b")
    desk_day.clock.advance(days=30)  # the store owner asks again: a new request, not a retry of the first
    again = delivery("customers/redact", compliance("customers/redact", WILHELMINA, [order_id_of(1)]), "r-w-again",
                     triggered_at=desk_day.clock.now())
    with TestClient(create_app(desk_day.desk, background=False)) as client:
        answer = client.post("/webhooks/shopify", content=again["body"].encode(), headers=again["headers"])
    assert answer.status_code == 200
    desk_day.work()
    with db.unit_of_work(read_only=True) as uow:
        erasures = [(e.customer_id, sorted(e.orders)) for e in uow.privacy.erasures()]
    w, b = WILHELMINA["customer_id"], BARTHOLOMEW["customer_id"]
    assert erasures == [(w, [order_id_of(1), order_id_of(2)]), (b, [order_id_of(3)]),
                        (w, [order_id_of(1), order_id_of(2)])]
    assert occurrences(dump(db), personal_values(WILHELMINA) + personal_values(BARTHOLOMEW)) == []


def test_a_late_return_of_an_erased_customer_is_refunded_and_their_email_not_sent(desk_day: Scenario) -> None:  # noqa: F811
    """The refund is the shop's business and goes out; the email has no one to go to, and is no failure."""
    # Her order 1 was for two of the item: the day's return refunded one, this late one is for the other (with one,
    # Shopify refuses a second refund of the unit, since the desk's refunds name their units: ADR 0041).
    two = order_of(WILHELMINA, 1, "19.99")
    two["line_items"][0]["quantity"] = 2
    desk_day.deliver("orders/updated", two)
    erase_wilhelmina(desk_day)
    late = return_request(1, "SIZE_TOO_SMALL", price="19.99") | {"id": 4_100_001}
    send(desk_day, "returns/request", late, "late-return")
    desk_day.later(hours=1)
    newest = [a for a in desk_day.actions(order_id_of(1)) if a.created_at > MONDAY_9AM + timedelta(minutes=5)]
    assert sorted((a.kind, a.status.value, a.last_error) for a in newest) == [
        ("email", "failed", "not sent: the customer's data was erased (customers/redact)"), ("refund", "sent", "")]
    assert [c.kind for c in desk_day.cases() if c.order_id == order_id_of(1)] == []
    assert occurrences(dump(desk_day.desk.db), personal_values(WILHELMINA)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("packer", [None, pack], ids=["events ahead", "events and packed body ahead"])
def test_a_late_delivery_the_simulated_store_normalised_ahead_is_decided_as_stored(
    desk_day: Scenario, packer: Callable[[bytes], bytes] | None  # noqa: F811
) -> None:
    """The simulator's store verifies, normalises and packs each delivery ahead (ADR 0023); the desk stores it
    erased, and must neither decide on the events worked out from what was sent nor store the body packed
    from it."""
    erase_wilhelmina(desk_day)
    sent = delivery("orders/updated", late_update(WILHELMINA, 2, "450.00"), "late-sim")
    body = sent["body"].encode()
    checked = Ahead(SHOP, (SECRET,), True, 1 << 21, packer).check(sent["headers"], body)
    now = desk_day.clock.now()
    store = SimpleNamespace(s=SimpleNamespace(seed=1, first_order_at=now))
    runner = InProcess(desk_day.desk, desk_day.clock, store, people=False)  # type: ignore[arg-type]
    runner._ingest([Delivery(now, "orders/updated", sent["headers"], body, checked)], now)
    assert runner.stats.pipeline.deliveries == 1
    assert occurrences(dump(desk_day.desk.db), personal_values(WILHELMINA)) == []  # type: ignore[arg-type]
