"""Lost webhooks found by the reconciliation sweep (reliability test 4, quick size), on SQLite and PostgreSQL.

An order stream goes through the real HTTP intake (uvicorn on a free port) while 5 % of the deliveries
are dropped and the desk is down for longer than Shopify's retry window (what was triggered early in
the outage is never delivered; the rest arrives late, out of order). FakeShopifyAdmin holds the true
current orders and answers the ``orders`` query over real HTTP. One sweep period later, every order must
be in the state a run with no drops reaches, with the same actions, each sent once.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from opsdesk.background import Background
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.domain.orders import OrderState, Versioned
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import MARK_PREFIX, RECONCILE, Reconciler, read_mark
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


# -- the tests --------------------------------------------------------------------------------------


def test_lost_webhooks_are_recovered_by_one_sweep_with_no_duplicate_effects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    deliveries, current = stream()
    ids = sorted(current)

    # The run with no drops: what every order must end as.
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake_ok:
        clock = ManualClock(T0)
        desk_ok, smtp_ok = build(tmp_path, "no-drops", database("no_drops"), fake_ok, monkeypatch, clock)
        with serving(desk_ok) as url, httpx.Client(timeout=10) as client:
            for at, d in deliveries:
                clock.set(at)
                assert post(client, url, d) == 200
        drain(desk_ok)
        expected, expected_actions = states(desk_ok, ids), action_ids(desk_ok, ids)
        expected_mutations = mutations(fake_ok)
    assert all(s is not None and s.snapshot is not None for s in expected.values())
    assert len(expected_actions) == 2 * len([n for n in range(ORDERS) if n % 3 == 0])

    # The run with drops and an outage, then one sweep.
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "drops", database("drops"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None
        first = desk.reconcile_due(reconciler)  # the sweep at start: nothing yet, sets the mark
        assert [r.ok for r in first] == [True] and first[0].seen == 0

        rng = random.Random(1)
        dropped = [d for _, d in deliveries if rng.random() < 0.05]
        lost = [d for at, d in deliveries if OUTAGE[0] <= at and at + RETRY_WINDOW < OUTAGE[1]]
        late = [(at, d) for at, d in deliveries if OUTAGE[0] <= at < OUTAGE[1] and not at + RETRY_WINDOW < OUTAGE[1]]
        assert dropped and lost and late
        with httpx.Client(timeout=10) as client:
            with serving(desk) as url:
                for at, d in deliveries:
                    if at >= OUTAGE[0]:
                        break
                    clock.set(at)
                    if d not in dropped:
                        assert post(client, url, d) == 200
            for d in lost[:3]:  # the desk is down: Shopify's attempts cannot connect
                with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as fresh:
                    post(fresh, url, d)
            clock.set(OUTAGE[1])
            with serving(desk) as url:
                for _, d in late:  # retried after the outage, out of order: arrives late
                    if d not in dropped:
                        assert post(client, url, d) == 200
                for at, d in deliveries:
                    if at >= OUTAGE[1] and d not in dropped:
                        clock.set(at)
                        assert post(client, url, d) == 200
        drain(desk)
        before = states(desk, ids)
        assert sum(before[i] != expected[i] for i in ids) > 5  # the drops really lost state

        for payload in current.values():
            fake.put_order_payload(payload)  # what the Admin API says now
        clock.set(clock.now() + PERIOD)
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert report.pages == -(-ORDERS // 7) and report.seen == ORDERS
        assert report.appended == report.missing + report.stale + report.undecided > 0
        assert report.missing > 0 and report.stale > 0 and report.undecided > 0
        assert any(f["topic"] == "fulfillments/update" for f in report.found)  # lost fulfilments too
        drain(desk)

        after = states(desk, ids)
        wrong = differing(after, expected)
        assert wrong == [], f"{len(wrong)} orders differ from the no-drop run, e.g. {after[wrong[0]]}"
        assert sorted(action_ids(desk, ids)) == sorted(expected_actions)  # each action once, the same ones
        assert mutations(fake) == expected_mutations and set(mutations(fake).values()) == {1}
        assert sorted(a.idempotency_key for a in smtp.sent) == sorted(a.idempotency_key for a in smtp_ok.sent)
        assert len({a.idempotency_key for a in smtp.sent}) == len(smtp.sent)

        # Again: nothing new; and a real webhook for a recovered change, arriving at last, changes nothing.
        again = reconciler.sweep(SHOP, since=T0 - timedelta(hours=1))
        assert again.ok and again.appended == 0 and again.missing + again.stale + again.undecided == 0
        recovered = next(d for d in dropped + lost if d["headers"]["X-Shopify-Topic"] == "orders/updated"
                         and '"cancelled_at":"' in d["body"])  # a change a rule acted on
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            assert post(client, url, recovered) == 200
        drain(desk)
        assert differing(states(desk, ids), expected) == []
        assert sorted(action_ids(desk, ids)) == sorted(expected_actions)
        assert mutations(fake) == expected_mutations
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0


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


def test_a_failing_admin_api_leaves_the_mark_and_retry_after_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    _, current = stream()
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0)
        desk, reconciler, waits = swept_once(tmp_path, "failing", database, fake, monkeypatch, clock)
        with desk.db.unit_of_work(read_only=True) as uow:
            mark = read_mark(uow, SHOP)
        assert mark == T0

        for payload in current.values():
            fake.put_order_payload(payload)
        clock.set(T0 + PERIOD)
        # Two pages answer (each a listing and a read of each of its 7 orders, all missing), then the API fails.
        fake.script(*["slow:0"] * 2 * (1 + 7), "503", "503", "503")
        failed = reconciler.sweep(SHOP)
        assert not failed.ok and "503" in failed.error and failed.mark is None
        first_pages = appended_for(sorted(current.values(), key=lambda o: o["updated_at"])[:14])
        assert failed.pages == 2 and failed.appended == first_pages  # what was read stays; the mark does not move
        assert len(waits) == reconciler.settings.attempts - 1
        with desk.db.unit_of_work(read_only=True) as uow:
            assert read_mark(uow, SHOP) == T0  # not advanced: the next sweep reads the same window again
            assert uow.usage.get_many([MARK_PREFIX + SHOP])[MARK_PREFIX + SHOP].count == 1

        fake.script("429:7")  # throttled once: the sweep waits what Shopify says, then goes on
        waits.clear()
        clock.set(T0 + 2 * PERIOD)
        ok = reconciler.sweep(SHOP)
        assert ok.ok and waits == [7.0]
        total = appended_for(list(current.values()))
        assert ok.appended == total - first_pages and ok.already_appended == first_pages
        with desk.db.unit_of_work(read_only=True) as uow:
            assert read_mark(uow, SHOP) == T0 + 2 * PERIOD
            assert uow.deliveries.count("pending") == total
            stored = uow.deliveries.pending(5)
        assert {s.delivery.api_version for s in stored} == {RECONCILE}
        assert all(s.delivery.webhook_id.startswith("reconcile:") for s in stored)
        # Appended but not yet processed: a sweep over the same window stores nothing twice.
        again = reconciler.sweep(SHOP, since=T0 - timedelta(hours=1))
        assert again.ok and again.appended == 0 and again.already_appended == total


def test_the_reconcile_command_reports_and_processes_what_it_appended(tmp_path: Path) -> None:
    _, current = stream()
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        held = list(current.values())[:12]
        held[4] = refunded(held[4], 7_300_000_004, datetime.fromisoformat(held[4]["updated_at"]))[1]
        for payload in held:
            fake.put_order_payload(payload)
        config = {"shops": [{"domain": SHOP, "admin_url": fake.url_for(SHOP), "access_token_env": "RECON_TOKEN"}],
                  "playbooks": str(STARTER), "reconcile": {"page_size": 5}}
        (tmp_path / "opsdesk.yaml").write_text(yaml.safe_dump(config))
        env = {**os.environ, "RECON_TOKEN": TOKEN, "OPSDESK_DATABASE_URL": f"sqlite:///{tmp_path}/opsdesk.db",
               "OPSDESK_CONFIG": str(tmp_path / "opsdesk.yaml"), "COLUMNS": "200"}

        def opsdesk(*args: str, columns: str = "200") -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "opsdesk", "reconcile", *args], cwd=tmp_path,
                                  env={**env, "COLUMNS": columns}, capture_output=True, text=True, timeout=120,
                                  check=False)

        first = opsdesk("--since", "2026-03-02T07:00:00Z", "--format", "json")
        assert first.returncode == 0, first.stderr
        [shop] = json.loads(first.stdout)["shops"]
        n = appended_for(held)
        assert (shop["ok"], shop["pages"], shop["seen"], shop["missing"], shop["appended"]) == (True, 3, 12, n, n)
        assert shop["refunds_seen"] == 1 and n == 13 + sum(len(o.get("fulfillments") or []) for o in held)
        assert shop["paced_seconds"] == 0.0  # the fake's bucket is not enforced: reported full, nothing to wait for
        assert json.loads(first.stdout)["pipeline"]["deliveries"] == n
        again = opsdesk("--shop", SHOP, "--since", "2026-03-02T07:00:00Z")
        assert again.returncode == 0, again.stderr
        assert "appended" in again.stdout and "refunds" in again.stdout and "processed 0 deliveries" in again.stdout
        assert "paced" in again.stdout and "0.0 s" in again.stdout
        for columns in (80, 120):  # ADR 0026: one line for the shop, its mark whole (what --since takes)
            title, header, row, done = opsdesk("--shop", SHOP, columns=str(columns)).stdout.splitlines()
            assert (title, header.split()[0], row.split()[0]) == ("reconcile", "shop", SHOP)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", row.split()[-1])
            assert len(row) <= columns and done.startswith("processed 0 deliveries")
        assert opsdesk("--shop", "other.myshopify.com").returncode == 2
        fake.outage(True)
        failed = opsdesk("--format", "json")
        assert failed.returncode == 1
        assert json.loads(failed.stdout)["shops"][0]["mark"] is None


def dispute_cases(desk: Desk, order_id: int) -> list[Any]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(uow.cases.get(c.id), len(uow.cases.timeline(c.id)))
                for c in uow.cases.for_order(SHOP, order_id) if c.kind == "dispute"]


def decisions_on(desk: Desk, order_id: int) -> list[tuple[str, str]]:
    with desk.db.unit_of_work(read_only=True) as uow:
        return [(d.event_key, d.playbook) for d in uow.decisions.for_order(SHOP, order_id)]


def test_a_lost_dispute_is_recovered_its_case_opens_once_with_its_deadline_and_late_webhooks_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    versions = _order(2)  # created, then paid: every webhook of the order arrives
    order_id = versions[-1][1]["id"]
    initiated, due = T0 + timedelta(minutes=30), T0 + timedelta(days=7)
    created = sample("disputes/create")
    created.update(id=285_332_461_850_802_050, order_id=order_id, type="chargeback", status="needs_response",
                   amount="19.99", currency="USD", initiated_at=initiated.isoformat(),
                   evidence_due_by=due.isoformat(), evidence_sent_on=None, finalized_on=None)
    lost_create = delivery("disputes/create", created, "w-dispute-create", triggered_at=initiated)
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, _ = build(tmp_path, "dispute", database("dispute"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            for v, (at, payload) in enumerate(versions):
                clock.set(at)
                for topic in (_TOPIC[v], "orders/updated"):
                    assert post(client, url, delivery(topic, payload, f"w-{v}-{topic}", triggered_at=at)) == 200
        drain(desk)  # the disputes/create webhook was lost: nobody knows of the chargeback
        assert dispute_cases(desk, order_id) == []
        fake.put_order_payload(versions[-1][1])
        fake.put_dispute_payload(created)

        clock.set(T0 + timedelta(minutes=45))
        [report] = desk.reconcile_due(reconciler)
        assert [(f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (f"dispute:{created['id']}", "disputes/create", "missing")]
        assert report.ok and report.appended == report.missing == 1 and report.stale == report.undecided == 0
        assert (report.dispute_pages, report.disputes_seen, report.seen) == (1, 1, 1)
        drain(desk)

        [(case, changes)] = dispute_cases(desk, order_id)
        assert case.queue == "disputes" and case.detail["rule"] == "chargeback-needs-evidence"
        assert case.detail["hard_deadline"] == due.isoformat()  # the evidence deadline, from the Admin API
        assert states(desk, [order_id])[order_id].disputes[created["id"]].status == "needs_response"  # type: ignore[union-attr]
        decided = decisions_on(desk, order_id)

        # The real webhook, retried by Shopify after the sweep: the same event, decided already.
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            assert post(client, url, lost_create) == 200
        drain(desk)
        assert dispute_cases(desk, order_id) == [(case, changes)]
        assert decisions_on(desk, order_id) == decided
        again = reconciler.sweep(SHOP)
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []

        # Evidence is sent and the disputes/update is lost too: the desk holds an older version.
        sent = T0 + timedelta(days=2)
        updated = {**created, "status": "under_review", "evidence_sent_on": sent.isoformat()}
        fake.put_dispute_payload(updated)
        clock.set(sent + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert [(f["topic"], f["reason"], f["known_at"]) for f in report.found] == [
            ("disputes/update", "stale", initiated.isoformat())]
        drain(desk)
        assert states(desk, [order_id])[order_id].disputes[created["id"]].status == "under_review"  # type: ignore[union-attr]
        [(still, _)] = dispute_cases(desk, order_id)  # the update joins the open case; none opens
        assert still.id == case.id
        decided = decisions_on(desk, order_id)
        with serving(desk) as url, httpx.Client(timeout=10) as client:
            late = delivery("disputes/update", updated, "w-dispute-update", triggered_at=sent)
            assert post(client, url, late) == 200
        drain(desk)
        assert decisions_on(desk, order_id) == decided and dispute_cases(desk, order_id)[0][0] == still
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_the_worker_runs_the_sweep_unless_it_is_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    shopify = ShopifyAdmin(lambda _shop: "http://127.0.0.1:9/graphql.json", lambda _shop: TOKEN)
    desk = make_desk(tmp_path, monkeypatch, connectors={"shopify": shopify, "smtp": RecordingConnector("smtp")},
                     reconcile={"enabled": enabled})
    names = [t.name for t in Background(desk).threads]
    assert ("opsdesk-reconcile" in names) is enabled
    assert "opsdesk-reconcile" not in [t.name for t in Background(desk, outbox=False).threads]


def refunded(order: dict[str, Any], refund_id: int, at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Shopify's ``refunds/create`` sample (85.00 USD through two refund transactions) made on ``order`` at
    ``at``, and the order as it is after it: the refund moved its ``updated_at``."""
    refund = sample("refunds/create")
    refund.update(id=refund_id, order_id=order["id"], created_at=at.isoformat(), processed_at=at.isoformat(),
                  note="Damaged in transit")
    after = {**order, "financial_status": "partially_refunded", "updated_at": at.isoformat(), "refunds": [refund]}
    return refund, after


def test_a_lost_refund_is_recovered_with_its_money_and_what_the_desk_does_on_it_happens_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    # Order a: every webhook arrives but the refunds/create: its orders/updated lists the refund, which counts
    # (ADR 0041, session 15) and is decided as its own webhook would be. Order b: its orders/updated for the refund
    # is lost too, so the desk holds it as paid.
    (a, b) = (_order(2), _order(5))  # created, then paid
    at_a, at_b = T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)
    refund_a, after_a = refunded(a[-1][1], 7_300_000_001, at_a)
    refund_b, after_b = refunded(b[-1][1], 7_300_000_002, at_b)
    ids = [after_a["id"], after_b["id"]]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 - timedelta(minutes=1))
        desk, smtp = build(tmp_path, "refund", database("refund"), fake, monkeypatch, clock, (REFUND_PLAYBOOK,))
        reconciler = desk.reconciler()
        assert reconciler is not None and desk.reconcile_due(reconciler)[0].ok  # the mark
        refunded_a = delivery("orders/updated", after_a, "w-a-refunded", triggered_at=at_a)
        arrive_created_and_paid(desk, clock, [a, b], (at_a, refunded_a))  # no refunds/create arrives
        assert [s.refunds if s else None for s in states(desk, ids).values()] == [
            {refund_a["id"]: Versioned("issued", at_a, Decimal("85.00"))}, {}]
        for payload in (after_a, after_b):
            fake.put_order_payload(payload)

        clock.set(T0 + timedelta(hours=1))
        [report] = desk.reconcile_due(reconciler)
        assert report.ok, report.error
        assert [(f["order_id"], f["resource"], f["topic"], f["reason"]) for f in report.found] == [
            (ids[1], "order", "orders/updated", "stale"),  # the order's own delivery first, then its refund
            (ids[1], f"refund:{refund_b['id']}", "refunds/create", "missing")]  # a's was held and decided
        assert (report.seen, report.refunds_seen, report.missing, report.stale, report.appended) == (2, 2, 1, 1, 2)
        assert report.as_dict()["refunds_seen"] == 2
        with desk.db.unit_of_work(read_only=True) as uow:
            appended = [s.delivery for s in uow.deliveries.pending(10)]
        assert [(d.topic, d.webhook_id, d.api_version) for d in appended] == [
            ("orders/updated", f"reconcile:{ids[1]}:2026-03-02T08:50:00.000000Z", RECONCILE),
            ("refunds/create", f"reconcile:refund:{refund_b['id']}:2026-03-02T08:50:00.000000Z", RECONCILE)]
        drain(desk)

        recovered = states(desk, ids)
        assert {i: s.refunds if s else None for i, s in recovered.items()} == {
            ids[0]: {refund_a["id"]: Versioned("issued", at_a, Decimal("85.00"))},
            ids[1]: {refund_b["id"]: Versioned("issued", at_b, Decimal("85.00"))}}
        assert [s.refunded if s else None for s in recovered.values()] == [Decimal("85.00")] * 2
        assert [s.payment_status if s else None for s in recovered.values()] == ["partially_refunded"] * 2
        tagged = mutations(fake)
        assert sorted(op for op, _ in tagged) == ["tagsAdd", "tagsAdd"] and set(tagged.values()) == {1}
        emails = sorted(a.idempotency_key for a in smtp.sent)
        assert len(emails) == len(set(emails)) == 2
        decided = [decisions_on(desk, i) for i in ids]
        assert all(("refund.created:" + str(r["id"]), "refund-notice") in d
                   for r, d in zip((refund_a, refund_b), decided, strict=True))

        # The real webhooks, retried by Shopify after the sweep: the same events, decided already.
        arrive_late(desk, "refunds/create", [(refund_a, at_a), (refund_b, at_b)])
        assert states(desk, ids) == recovered
        assert [decisions_on(desk, i) for i in ids] == decided
        assert mutations(fake) == tagged and sorted(a.idempotency_key for a in smtp.sent) == emails
        again = reconciler.sweep(SHOP, since=T0)  # the same window again: both refunds read, none appended
        assert again.ok and again.appended == again.already_appended == 0 and again.found == []
        assert (again.seen, again.refunds_seen) == (2, 2)
        with desk.db.unit_of_work(read_only=True) as uow:
            assert uow.deliveries.count("failed") == 0


def large(n: int, at: datetime) -> dict[str, Any]:
    """Order ``n`` as Shopify holds it after a busy life: more lines, discounts, fulfilments and refunds (each
    refund with more transactions and lines) than one query may read under Shopify's cost limit."""
    order = _order(n)[-1][1]
    line = order["line_items"][0]
    lines = [{**line, "id": 60_000_000 + 1000 * n + i, "sku": f"SKU-{i}", "quantity": 1} for i in range(130)]
    refunds = []
    for r in range(7):
        refund = sample("refunds/create")
        base = 70_000_000 + 1000 * n + 100 * r
        refund.update(id=base, order_id=order["id"], created_at=(at - timedelta(minutes=10 - r)).isoformat(),
                      processed_at=None, note=f"refund {r}",
                      transactions=[{**refund["transactions"][0], "id": base + t, "amount": "1.00"} for t in range(12)],
                      refund_line_items=[{**refund["refund_line_items"][0], "id": base + 50 + t,
                                          "line_item_id": lines[t]["id"]} for t in range(12)])
        refunds.append(refund)
    return {**order, "line_items": lines, "refunds": refunds, "updated_at": at.isoformat(),
            "financial_status": "partially_refunded", "fulfillment_status": "partial",
            "discount_applications": [{"title": f"manual {d}"} for d in range(12)],
            "fulfillments": [fulfilment(n, order["id"], at - timedelta(minutes=30)) | {"id": 8_300_000 + 100 * n + f}
                             for f in range(12)]}


def test_orders_with_more_than_one_query_can_read_are_recovered_whole_every_query_under_the_cost_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    at = T0 + timedelta(minutes=30)
    held = [large(1, at), large(4, at + timedelta(minutes=1))]
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0 + timedelta(hours=1))
        desk, _ = build(tmp_path, "large", database("large"), fake, monkeypatch, clock)
        reconciler = desk.reconciler()
        assert reconciler is not None
        for payload in held:
            fake.put_order_payload(payload)

        report = reconciler.sweep(SHOP, since=T0)

        assert report.ok, report.error
        assert (report.seen, report.orders_read, report.refunds_seen, report.incomplete) == (2, 2, 14, [])
        assert report.appended == report.missing == appended_for(held) == 2 * (1 + 12 + 7)
        assert max(c.cost for c in fake.calls) <= 1000 and {c.status for c in fake.calls} == {200}
        with desk.db.unit_of_work(read_only=True) as uow:
            bodies = [(s.delivery.topic, json.loads(s.delivery.body)) for s in uow.deliveries.pending(100)]
        orders = [b for t, b in bodies if t == "orders/updated"]
        assert [len(o["line_items"]) for o in orders] == [130, 130]
        assert [len(o["discount_applications"]) for o in orders] == [12, 12]
        assert [(o["id"], len(o["refunds"]), len(o["fulfillments"])) for o in orders] == [
            (p["id"], 7, 12) for p in held]
        refunds = [b for t, b in bodies if t == "refunds/create"]
        assert [(len(r["transactions"]), len(r["refund_line_items"])) for r in refunds] == [(12, 12)] * 14
        drain(desk)
        recovered = states(desk, [p["id"] for p in held])
        for payload in held:
            state = recovered[payload["id"]]
            assert state is not None and state.snapshot is not None
            assert [i.id for i in state.snapshot.line_items] == [i["id"] for i in payload["line_items"]]
            assert sorted(state.refunds) == sorted(r["id"] for r in payload["refunds"])
            assert state.refunded == Decimal("84.00")  # 7 refunds of 12 transactions of 1.00
            assert sorted(state.fulfillments) == sorted(f["id"] for f in payload["fulfillments"])


def test_a_query_over_shopifys_cost_limit_is_refused_and_the_sweep_says_why_without_moving_its_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Callable[[str], str]
) -> None:
    _, current = stream()
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        clock = ManualClock(T0)
        desk, reconciler, waits = swept_once(tmp_path, "costly", database, fake, monkeypatch, clock)
        for payload in current.values():
            fake.put_order_payload(payload)
        clock.set(T0 + PERIOD)
        # 250 a page is Shopify's page limit, but not what 1,000 points buy: the configuration stops at 100.
        reconciler.settings = replace(reconciler.settings, page_size=250)

        refused = reconciler.sweep(SHOP)

        assert not refused.ok and refused.mark is None and (refused.pages, refused.appended) == (0, 0)
        assert refused.error == ("the Admin API refused the orders query: MAX_COST_EXCEEDED: Query cost is 2253, "
                                 "which exceeds the single query max cost limit (1000).")
        assert waits == []  # asking again cannot help: not retried
        assert [(c.operation, c.cost, c.status) for c in fake.calls[-1:]] == [("orders", 2253, 200)]
        with desk.db.unit_of_work(read_only=True) as uow:
            assert read_mark(uow, SHOP) == T0
            assert uow.deliveries.count("pending") == 0
