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
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from opsdesk.background import Background
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services.reconcile import MARK_PREFIX, RECONCILE, read_mark
from opsdesk.testing import ManualClock, RecordingConnector
from tests.integration.desk_harness import make_desk
from tests.integration.http_harness import serving
from tests.integration.reconcile_harness import (
    ORDERS,
    OUTAGE,
    PERIOD,
    RETRY_WINDOW,
    T0,
    TOKEN,
    action_ids,
    appended_for,
    build,
    database,
    differing,
    drain,
    mutations,
    post,
    refunded,
    states,
    stream,
    swept_once,
)
from tests.pipeline_harness import STARTER
from tests.samples import SHOP

__all__ = ["database"]  # the fixture: SQLite and PostgreSQL

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
