"""Reliability test 5 (quick size): ``opsdesk worker`` killed with SIGKILL at random moments while it
drains the outbox, restarted each time: nothing is lost and nothing is applied twice at the provider."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from opsdesk.domain.outbox import action_id, idempotency_key
from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from tests.samples import SHOP

ACTIONS = 500


def seed_actions(db: SqlDatabase, now: datetime) -> list[OutboxAction]:
    actions = []
    for n in range(ACTIONS):
        aid = action_id(f"decision-{n}", 0)
        actions.append(
            OutboxAction(
                id=aid,
                decision_id=f"decision-{n}",
                shop=SHOP,
                order_id=1_000_000 + n,
                kind="refund",
                provider="shopify",
                payload={
                    "shop": SHOP,
                    "order_id": 1_000_000 + n,
                    "amount": "5.00",
                    "currency": "USD",
                    "note": "t",
                },
                idempotency_key=idempotency_key(aid),
                created_at=now,
                next_attempt_at=now,
            )
        )
    with db.unit_of_work() as uow:
        uow.outbox.add_many(actions)
        uow.commit()
    return actions


def start_worker(directory: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPSDESK_SHOPIFY_SECRET": "x", "OPSDESK_SHOPIFY_ACCESS_TOKEN": "token"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opsdesk",
            "worker",
            "--config",
            str(directory / "opsdesk.yaml"),
            "--database-url",
            f"sqlite:///{directory}/opsdesk.db",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def pending(db: SqlDatabase) -> int:
    with db.unit_of_work() as uow:
        return uow.outbox.count("pending")


def worker_setup(directory: Path, connectors: dict[str, Any]) -> tuple[Engine, SqlDatabase]:
    """The worker's opsdesk.yaml (no playbooks, a one-second lease, these connectors) and its migrated database."""
    config = {
        "shops": [{"domain": SHOP}],
        "playbooks": "none",
        "connectors": connectors,
        "outbox": {"lease_seconds": 1.0, "poll_seconds": 0.05},
    }
    (directory / "opsdesk.yaml").write_text(yaml.safe_dump(config))
    engine = create_sql_engine(f"sqlite:///{directory}/opsdesk.db")
    migrate(engine)
    return engine, SqlDatabase(engine)


def kill_while_draining(
    directory: Path, db: SqlDatabase, rng: random.Random, most: int, *, pause: tuple[float, float]
) -> tuple[int, int]:
    """Start a worker, wait until it records an outcome, kill it (SIGKILL) ``pause`` seconds later (at random);
    again until nothing is pending or ``most`` kills. Returns the kills and how many landed with actions pending."""
    kills = mid_drain = 0
    while pending(db) > 0 and kills < most:
        worker = start_worker(directory)
        before = pending(db)
        started = time.monotonic()
        while pending(db) == before and time.monotonic() - started < 30:  # wait until it is draining
            time.sleep(0.02)
        time.sleep(rng.uniform(*pause))
        left = pending(db)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills += 1
        mid_drain += left > 0
    return kills, mid_drain


def drain(directory: Path, db: SqlDatabase) -> bytes:
    """Start a worker, let it send what is pending (a minute at most), stop it (SIGTERM); returns its stderr."""
    worker = start_worker(directory)
    deadline = time.monotonic() + 60
    while pending(db) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=20)
    return stderr


def test_a_worker_killed_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(5)
    with FakeShopifyAdmin() as shopify:
        shopify.chaos(0.0)
        base = shopify.url_for(SHOP).split("/shops/")[0] + "/shops/{shop}"
        engine, db = worker_setup(tmp_path, {"shopify": {"base_url": base, "timeout_seconds": 2}})
        actions = seed_actions(db, datetime.now(UTC))
        kills, mid_drain = kill_while_draining(tmp_path, db, rng, 8, pause=(0.0, 0.15))
        assert mid_drain >= 3, f"only {mid_drain} of {kills} kills landed while actions were pending"
        stderr = drain(tmp_path, db)
        effects = shopify.effects
        engine.dispose()
    assert pending(db) == 0, stderr.decode()[-2000:]
    keys = [e.key for e in effects]
    assert len(keys) == len(set(keys)), "an action was applied twice"
    assert sorted(keys) == sorted(a.idempotency_key for a in actions), (
        "effects do not match the actions one to one (lost or duplicated)"
    )
