"""A busy tick's deliveries in the simulator: batch by batch as ``opsdesk ingest`` decides them, one commit in all."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsdesk import app as composition
from opsdesk.cli_simulate import stand_ins
from opsdesk.config import load_settings
from opsdesk.ports import UnitOfWork
from opsdesk.simulator.run_state import VirtualClock
from opsdesk.simulator.runner import InProcess
from opsdesk.simulator.store import Store
from opsdesk.storage import tables as t
from opsdesk.storage.sql import SqlDatabase
from tests.integration.desk_harness import write_config
from tests.integration.test_simulator_refusals import SMALL
from tests.samples import SECRET

BUSY = replace(SMALL, name="busy", seed=3, orders_per_day=400)
BATCH = 7


@contextlib.contextmanager
def runner(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[InProcess, list[bool]]]:
    """A runner on a desk whose batches are of ``BATCH`` deliveries, and the units of work it opens (True: a
    write)."""
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    directory.mkdir()
    config = write_config(directory, limits={"batch_size": BATCH})
    settings = load_settings(str(config), f"sqlite:///{directory}/opsdesk.db")
    with contextlib.ExitStack() as stack:
        settings, faults, connectors = stand_ins(settings, stack)
        clock = VirtualClock(BUSY.first_order_at)
        desk = composition.build(settings, clock=clock, connectors=connectors)
        opened: list[bool] = []
        unit_of_work: Callable[..., Any] = desk.db.unit_of_work

        def counted(*, read_only: bool = False) -> UnitOfWork:
            opened.append(not read_only)
            uow: UnitOfWork = unit_of_work(read_only=read_only)
            return uow

        monkeypatch.setattr(desk.db, "unit_of_work", counted)
        store = Store(BUSY, SECRET)
        yield InProcess(desk, clock, store, faults=faults, people=False), opened
        desk.db.dispose()


def rows(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    assert isinstance(db, SqlDatabase)
    with db.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
                for table in t.metadata.sorted_tables}


def test_a_ticks_batches_are_stored_and_decided_in_one_transaction_as_they_would_be_each_in_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tick = list(islice(Store(BUSY, SECRET), 3 * BATCH + 2))  # four batches, the last of two
    now = max(d.at for d in tick)
    assert len({d.topic for d in tick}) >= 2
    with runner(tmp_path / "together", monkeypatch) as (together, opened):
        together.clock.set(now)
        together._ingest(tick, now)
        assert opened.count(True) == 1  # one write transaction for the tick's four batches
        decided = rows(together.desk.db), together.stats.pipeline.as_dict()
    with runner(tmp_path / "apart", monkeypatch) as (apart, opened):
        apart.clock.set(now)
        for start in range(0, len(tick), BATCH):  # a tick per batch: a transaction each
            apart._ingest(tick[start : start + BATCH], now)
        assert opened.count(True) == 4
        assert (rows(apart.desk.db), apart.stats.pipeline.as_dict()) == decided
    status = [c.name for c in t.deliveries.columns].index("status")
    assert {row[status] for row in decided[0]["deliveries"]} <= {"processed", "ignored", "waiting"}
    assert decided[1]["deliveries"] >= len(tick) and decided[1]["decisions"] > 0

