"""Reliability test 15: Shopify's privacy webhooks, end to end on a SQLite file and on PostgreSQL.

Two customers buy (Shopify's sample orders, with each customer's own name, email, phone, address and
browser), one gets an automatic refund and its email, the other a refund case a person comments on.
Then signed ``customers/redact``, ``customers/data_request`` and ``shop/redact`` deliveries go through
the real intake and pipeline; the timer sweep carries them out. Every table is dumped (every column, the
JSON as stored) and searched for the customer's data.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from opsdesk import app as composition
from opsdesk.cli import cli
from opsdesk.domain.audit import AuditKeys
from opsdesk.domain.privacy import PrivacySubject
from opsdesk.services.audit import rekey_audit, verify_audit
from opsdesk.services.cases import act
from opsdesk.services.privacy import PrivacyDeferred, redact_customer
from opsdesk.storage import tables as t
from opsdesk.storage.bodies import unpack
from opsdesk.storage.sql import SqlDatabase
from opsdesk.web.app import create_app
from tests.integration.order_scenarios import (
    MONDAY_9AM,
    Scenario,
    make_scenario,
    order,
    order_id_of,
    return_request,
)
from tests.samples import SHOP, delivery, sample

WILHELMINA = {
    "first_name": "Wilhelmina",
    "last_name": "Quackenbush",
    "email": "Wilhelmina.Q@example.org",
    "phone": "+1 613-555-0142",
    "address1": "17 Rideau Lane",
    "address2": "Apartment 4B",
    "city": "Smiths Falls",
    "zip": "K7A 4T6",
    "company": "Quackenbush Taxidermy",
    "ip": "203.0.113.77",
    "agent": "Mozilla/5.0 (Quackintosh)",
    "customer_id": 9_000_001,
}
BARTHOLOMEW = {
    "first_name": "Bartholomew",
    "last_name": "Featherstonehaugh",
    "email": "bart.f@example.net",
    "phone": "+44 20 7946 0958",
    "address1": "9 Larkspur Close",
    "address2": "Flat 2",
    "city": "Little Snoring",
    "zip": "NR21 0AA",
    "company": "Featherstonehaugh Kites",
    "ip": "198.51.100.23",
    "agent": "Mozilla/5.0 (Kiteboard)",
    "customer_id": 9_000_003,
}
PERSONAL = (
    "first_name", "last_name", "email", "phone", "address1", "address2", "city", "zip", "company", "ip", "agent"
)


def personal_values(person: dict[str, Any]) -> list[str]:
    return [str(person[k]) for k in PERSONAL] + [f"{person['first_name']} {person['last_name']}"]


def address(person: dict[str, Any]) -> dict[str, Any]:
    fields = ("first_name", "last_name", "address1", "address2", "city", "zip", "phone", "company")
    return {
        **{k: person[k] for k in fields},
        "name": f"{person['first_name']} {person['last_name']}",
        "province": "Ontario", "country": "Canada", "country_code": "CA", "province_code": "ON",
        "latitude": 44.9, "longitude": -76.0,
    }


def order_of(person: dict[str, Any], n: int, price: str) -> dict[str, Any]:
    """Shopify's ``orders/create`` sample as order ``n``, bought by ``person``: every personal field is theirs."""
    payload = order(n, MONDAY_9AM, price=price)
    payload.update(
        email=person["email"], contact_email=person["email"], phone=person["phone"], browser_ip=person["ip"],
        client_details={"browser_ip": person["ip"], "user_agent": person["agent"], "accept_language": "en-CA"},
        note=f"Leave it with {person['first_name']} at the back door", billing_address=address(person),
        shipping_address=address(person),
    )
    customer = payload["customer"]
    customer.update(id=person["customer_id"], first_name=person["first_name"], last_name=person["last_name"],
                    email=person["email"], phone=person["phone"], default_address=address(person))
    return payload


def compliance(topic: str, person: dict[str, Any], orders: list[int]) -> dict[str, Any]:
    """Shopify's sample of a compliance topic, about ``person`` and their orders."""
    payload = sample(topic)
    payload["shop_domain"] = SHOP
    if "customer" in payload:
        payload["customer"] = {"id": person["customer_id"], "email": person["email"], "phone": person["phone"]}
    if "orders_to_redact" in payload:
        payload["orders_to_redact"] = orders
    if "orders_requested" in payload:
        payload["orders_requested"] = orders
    return payload


def dump(db: SqlDatabase) -> dict[tuple[str, str], dict[str, str]]:
    """Every row of every table, by (table, primary key), every column as stored (bytes decoded; a delivery's
    body unpacked, ADR 0031: personal data in a packed body is there all the same)."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    with db.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            for r in conn.execute(select(table)).mappings():
                key = "|".join(str(r[c.name]) for c in table.primary_key.columns)
                rows[(table.name, key)] = {
                    col: (v.decode() if isinstance(v, bytes) else str(v)) if v is not None else ""
                    for col, v in ((c, _stored(table.name, c, r[c])) for c in r)
                }
    return rows


def _stored(table: str, column: str, value: Any) -> Any:
    value = bytes(value) if isinstance(value, memoryview) else value
    return unpack(value) if (table, column) == ("deliveries", "body") else value


def occurrences(rows: dict[tuple[str, str], dict[str, str]], values: list[str]) -> list[tuple[str, str, str, str]]:
    found = []
    for (table, key), columns in rows.items():
        for col, stored in columns.items():
            found += [(table, key, col, v) for v in values if v.lower() in stored.lower()]
    return found


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk_day(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """Two customers' orders through the desk: a refund with its email, a case with a person's comment."""
    url = f"sqlite:///{tmp_path / 'opsdesk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    for s in make_scenario(tmp_path, monkeypatch, url):
        for n, person, price in ((1, WILHELMINA, "19.99"), (2, WILHELMINA, "450.00"), (3, BARTHOLOMEW, "450.00")):
            s.deliver("orders/create", order_of(person, n, price))
            s.later(minutes=5)
            s.deliver("returns/request", return_request(n, "SIZE_TOO_SMALL", price=price))
            s.work()
        with s.desk.db.unit_of_work() as uow:
            for case in s.cases():
                person = WILHELMINA if case.order_id == order_id_of(2) else BARTHOLOMEW
                note = f"Called {person['first_name']} {person['last_name']} on {person['phone']}"
                act(uow, case.id, "comment", "alice", s.clock.now(), s.desk.case_hooks, note=note)
            uow.commit()
        yield s


def business_facts(db: SqlDatabase) -> list[tuple[Any, ...]]:
    """What the desk's history adds up from: each order's amounts and statuses, its cases and actions."""
    found: list[tuple[Any, ...]] = []
    with db.unit_of_work(read_only=True) as uow:
        for n in (1, 2, 3):
            state = uow.orders.find(SHOP, order_id_of(n))  # type: ignore[arg-type]
            assert state is not None and state.snapshot is not None
            snap = state.snapshot
            found.append((n, snap.total, snap.financial_status, snap.customer_id, snap.line_items, state.refunds))
            found += [(n, c.kind, c.queue, c.status) for c in uow.cases.for_order(SHOP, order_id_of(n))]
            found += [(n, a.kind, a.status, a.idempotency_key) for a in uow.outbox.for_order(SHOP, order_id_of(n))]
    return found


def post(client: TestClient, topic: str, payload: dict[str, Any], webhook_id: str) -> int:
    d = delivery(topic, payload, webhook_id)
    return client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"]).status_code


def send(s: Scenario, topic: str, payload: dict[str, Any], webhook_id: str) -> None:
    """A signed delivery through the HTTP intake, then the pipeline and the timer sweep."""
    with TestClient(create_app(s.desk, background=False)) as client:
        assert post(client, topic, payload, webhook_id) == 200
    s.work()


def test_the_day_stores_the_customers_data_where_the_redaction_must_find_it(desk_day: Scenario) -> None:
    rows = dump(desk_day.desk.db)  # type: ignore[arg-type]
    tables = {table for table, *_ in occurrences(rows, [WILHELMINA["email"]])}
    assert {"deliveries", "orders", "decisions", "actions"} <= tables
    assert {"case_changes"} <= {table for table, *_ in occurrences(rows, [WILHELMINA["phone"]])}
    assert [m.to for m in desk_day.mail_to(WILHELMINA["email"])] == [WILHELMINA["email"]]


def test_customers_redact_leaves_no_personal_data_and_the_audit_chain_holds(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    before = dump(db)
    facts_before = business_facts(db)
    redact = compliance("customers/redact", WILHELMINA, [order_id_of(1), order_id_of(2)])
    send(desk_day, "customers/redact", redact, "redact-1")
    after = dump(db)

    assert occurrences(after, personal_values(WILHELMINA)) == []
    assert occurrences(after, ["6135550142"]) == []  # the phone in any punctuation
    # The other customer's rows are exactly as they were, and their data is all still there.
    untouched = {k: v for k, v in before.items() if not occurrences({k: v}, personal_values(WILHELMINA))}
    assert {k: after.get(k) for k in untouched if k[0] not in ("audit_head",)} == {
        k: v for k, v in untouched.items() if k[0] not in ("audit_head",)
    }
    assert {v for *_, v in occurrences(after, personal_values(BARTHOLOMEW))} == set(personal_values(BARTHOLOMEW))
    # Business facts stay: the orders, their amounts and statuses, the refund, the case.
    assert business_facts(db) == facts_before
    with db.unit_of_work(read_only=True) as uow:
        report = verify_audit(uow)
    assert report.ok, report.as_dict()
    assert ("refundCreate", order_id_of(1)) in {(e.kind, e.order_id) for e in desk_day.shopify.effects}


def redacted_rows(db: SqlDatabase) -> list[int]:
    """The audit rows the redaction entries vouch for (their personal part was erased)."""
    with db.engine.connect() as conn:
        vouchers = conn.execute(select(t.audit.c.after).where(t.audit.c.action == "privacy.redacted")).scalars()
        return sorted(int(i) for after in vouchers for i in json.loads(after)["rows"])


def test_a_redacted_audit_row_changed_afterwards_is_caught(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    send(desk_day, "customers/redact", compliance("customers/redact", WILHELMINA, [order_id_of(2)]), "redact-2")
    redacted = redacted_rows(db)
    assert redacted, "the comment's audit row held the customer's name and phone"
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", str(db.engine.url.render_as_string(False)),
                                      "--config", str(desk_day.desk.settings.config_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    with db.engine.begin() as conn:
        conn.execute(t.audit.update().where(t.audit.c.id == redacted[0]).values(after='{"note":"forged"}'))
    with db.unit_of_work(read_only=True) as uow:
        broken = verify_audit(uow).broken
    assert broken is not None and broken.row_id == redacted[0]


def test_a_chain_with_erased_rows_is_rekeyed_and_a_later_change_is_still_caught(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    send(desk_day, "customers/redact", compliance("customers/redact", WILHELMINA, [order_id_of(2)]), "redact-3")
    redacted = redacted_rows(db)
    assert redacted
    keys = AuditKeys(b"an-audit-key-of-at-least-32-characters")
    with db.unit_of_work() as uow:  # the erased rows pass on their vouchers, then are hashed as they are now
        assert rekey_audit(uow, keys).rows > len(redacted)
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        assert verify_audit(uow, keys=keys).ok
    with db.engine.begin() as conn:
        conn.execute(t.audit.update().where(t.audit.c.id == redacted[0]).values(after='{"note":"forged"}'))
    with db.unit_of_work(read_only=True) as uow:
        broken = verify_audit(uow, keys=keys).broken
    assert broken is not None and broken.row_id == redacted[0]


def test_a_forged_voucher_does_not_hide_a_change(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    with db.engine.begin() as conn:
        first = conn.execute(select(t.audit.c.id).order_by(t.audit.c.id).limit(1)).scalar_one()
        conn.execute(t.audit.update().where(t.audit.c.id == first).values(actor="mallory"))
    with db.unit_of_work(read_only=True) as uow:
        broken = verify_audit(uow).broken
    assert broken is not None and broken.row_id == first


def test_customers_data_request_exports_every_stored_field_that_holds_their_data(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    request = compliance("customers/data_request", WILHELMINA, [order_id_of(1), order_id_of(2)])
    send(desk_day, "customers/data_request", request, "export-1")
    folder = desk_day.desk.settings.privacy_export_dir / SHOP
    [path] = folder.glob(f"customer-{WILHELMINA['customer_id']}-9999.json")
    assert path.stat().st_mode & 0o077 == 0
    exported = json.loads(path.read_text())
    listed = {(e["table"], "|".join(str(k) for k in e["row"]), e["field"]) for e in exported["fields"]}
    holding = {(table, key, col) for table, key, col, _ in occurrences(dump(db), personal_values(WILHELMINA))}
    # The export's own audit entry and file name hold no personal data; everything else is listed.
    assert holding - listed == set()
    assert not occurrences({("x", "y"): {"fields": json.dumps(exported)}}, personal_values(BARTHOLOMEW))
    assert exported["orders"] == [order_id_of(1), order_id_of(2)]


def test_a_customers_redaction_removes_their_exports_and_no_one_elses(desk_day: Scenario) -> None:
    folder = desk_day.desk.settings.privacy_export_dir / SHOP
    send(desk_day, "customers/data_request", compliance("customers/data_request", WILHELMINA, [order_id_of(1)]), "e-w")
    send(desk_day, "customers/data_request", compliance("customers/data_request", BARTHOLOMEW, [order_id_of(3)]), "e-b")
    [mine] = folder.glob(f"customer-{WILHELMINA['customer_id']}-*.json")
    [theirs] = folder.glob(f"customer-{BARTHOLOMEW['customer_id']}-*.json")
    send(desk_day, "customers/redact", compliance("customers/redact", WILHELMINA, [order_id_of(1)]), "r-w")
    assert not mine.exists() and theirs.exists()


def test_shop_redact_erases_every_row_of_the_shop_and_the_chain_still_holds(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    request = compliance("customers/data_request", WILHELMINA, [order_id_of(1)])
    send(desk_day, "customers/data_request", request, "export-2")  # its timer holds the email and phone
    folder = desk_day.desk.settings.privacy_export_dir / SHOP
    assert list(folder.glob("customer-*.json"))  # the export holds her data until the shop is erased
    send(desk_day, "shop/redact", compliance("shop/redact", WILHELMINA, []), "shop-1")
    assert not folder.exists()
    after = dump(db)
    assert occurrences(after, personal_values(WILHELMINA) + personal_values(BARTHOLOMEW)) == []
    with db.engine.connect() as conn:
        for table in (t.deliveries, t.orders, t.decisions, t.actions, t.cases):
            assert conn.execute(select(table).where(table.c.shop == SHOP)).first() is None, table.name
        assert conn.execute(text("SELECT count(*) FROM case_changes")).scalar_one() == 0
    with db.unit_of_work(read_only=True) as uow:
        assert verify_audit(uow).ok


def test_a_repeated_redaction_changes_nothing_more(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    redact = compliance("customers/redact", WILHELMINA, [order_id_of(1), order_id_of(2)])
    send(desk_day, "customers/redact", redact, "redact-3")
    first = dump(db)
    send(desk_day, "customers/redact", copy.deepcopy(redact), "redact-4")  # Shopify retried: another webhook id
    second = dump(db)
    changed = {k for k in second if first.get(k) != second[k] and k[0] not in ("deliveries", "decisions", "audit_head")}
    assert {k[0] for k in changed} <= {"audit", "timers"}
    with db.unit_of_work(read_only=True) as uow:
        assert verify_audit(uow).ok


def test_the_privacy_commands_export_and_redact_by_hand(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    url = db.engine.url.render_as_string(False)
    common = ["--config", str(desk_day.desk.settings.config_path), "--database-url", url]
    who = ["--shop", SHOP, "--customer", str(BARTHOLOMEW["customer_id"]), "--email", BARTHOLOMEW["email"]]
    told = CliRunner().invoke(cli, ["privacy", "export", *who, *common], env={"COLUMNS": "60"})
    assert told.exit_code == 0, told.output
    written = told.output.split("export written to ")[1].splitlines()[0]  # ADR 0026: a path to copy, whole
    assert written.endswith(".json") and Path(written).is_file()
    exported = CliRunner().invoke(cli, ["privacy", "export", *who, *common, "--format", "json"])
    assert exported.exit_code == 0, exported.output
    report = json.loads(exported.output)
    assert report["orders"] == [order_id_of(3)] and report["fields"] > 0 and Path(report["export"]).exists()
    redacted = CliRunner().invoke(cli, ["privacy", "redact", *who, *common, "--format", "json"])
    assert redacted.exit_code == 0, redacted.output
    files = {written, report["export"]}  # one file when both exports fell in the same second
    assert json.loads(redacted.output)["exports_erased"] == len(files) and not any(map(os.path.exists, files))
    assert occurrences(dump(db), personal_values(BARTHOLOMEW)) == []
    assert {v for *_, v in occurrences(dump(db), personal_values(WILHELMINA))} == set(personal_values(WILHELMINA))


def test_a_redaction_recorded_before_a_crash_is_carried_out_after_the_restart(desk_day: Scenario) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    redact = compliance("customers/redact", WILHELMINA, [order_id_of(1), order_id_of(2)])
    with TestClient(create_app(desk_day.desk, background=False)) as client:
        assert post(client, "customers/redact", redact, "redact-5") == 200
    desk_day.desk.process_pending()  # the pipeline recorded the request; the worker dies before the sweep
    with db.engine.connect() as conn:
        pending = conn.execute(select(t.timers.c.id).where(t.timers.c.kind == "privacy.request",
                                                            t.timers.c.status == "pending")).scalars().all()
    assert len(pending) == 1
    assert occurrences(dump(db), [WILHELMINA["email"]]) != []
    restarted = composition.build(desk_day.desk.settings, clock=desk_day.clock, connectors=desk_day.desk.connectors)
    assert restarted.sweeper("after-restart").run_once() >= 1
    assert occurrences(dump(db), personal_values(WILHELMINA)) == []


def test_an_email_to_the_customer_not_sent_yet_is_not_sent_and_one_being_sent_defers_the_erasure(
    desk_day: Scenario,
) -> None:
    db: SqlDatabase = desk_day.desk.db  # type: ignore[assignment]
    with db.engine.begin() as conn:  # the refund email of order 1 as if it were still waiting to go out
        email = t.actions.c.kind == "email"
        conn.execute(t.actions.update().where(email, t.actions.c.order_id == order_id_of(1)).values(
            status="pending", lease_owner="worker-2", lease_until=desk_day.clock.now() + timedelta(seconds=30)))
    subject = PrivacySubject(SHOP, WILHELMINA["customer_id"], WILHELMINA["email"], WILHELMINA["phone"])
    with db.unit_of_work() as uow, pytest.raises(PrivacyDeferred):
        redact_customer(uow, subject, desk_day.clock.now())
    desk_day.clock.advance(seconds=31)  # the lease ran out: the sender is gone
    with db.unit_of_work() as uow:
        redact_customer(uow, subject, desk_day.clock.now())
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        [mail] = [a for a in uow.outbox.for_order(SHOP, order_id_of(1)) if a.kind == "email"]
    not_sent = "not sent: the customer's data was erased (customers/redact)"
    assert (mail.status.value, mail.last_error) == ("failed", not_sent)
