"""Draining the pending deliveries through the pipeline, one write transaction per batch.

Each batch is normalised outside any transaction (``Pipeline.prepare``), so that SQLite's write lock is held
only for reading rows, deciding and writing; a batch the database refuses for its data is applied again one
delivery at a time (``refusals``, ADR 0030).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from opsdesk.domain.records import StoredDelivery
from opsdesk.ports import UnitOfWork
from opsdesk.services.erasures import ErasedCustomers
from opsdesk.services.pipeline_batch import BatchReport
from opsdesk.services.pipeline_events import Prepared
from opsdesk.services.refusals import REFUSALS, apply_each

if TYPE_CHECKING:  # drains with a pipeline, and is run beside it
    from opsdesk.services.pipeline import Pipeline

#: The pipeline's logger, named as it was before draining had a module of its own.
log = logging.getLogger("opsdesk.services.pipeline")


def process_pending(
    uow_factory: Callable[..., UnitOfWork],
    pipeline: Pipeline,
    now: Callable[[], datetime],
    batch_size: int = 500,
    erased: ErasedCustomers | None = None,
) -> BatchReport:
    """Drain the pending deliveries, one write transaction per batch; returns what was done.

    Each batch is normalised outside any transaction, so that SQLite's write lock is held only for
    reading rows, deciding and writing, not for parsing: webhook intake commits in between. The first
    batch is read in a read-only transaction (with the waiting check); each next one, the deliveries the
    batch requeued or the watchers appended included, at the end of the write transaction before it, a
    transaction fewer per batch. With ``erased``, a batch read before a customer's erasure committed is
    read again (the erasure rewrote its bodies) instead of deciding on the copy parsed before (ADR 0021).
    A batch the database refuses for its data is applied again one delivery at a time, and the refused
    delivery is marked failed (ADR 0030); an outage (``Unavailable``) is raised, for the caller to wait out.
    """
    total = BatchReport()
    cutoff = now() - pipeline.wait_for_order
    with uow_factory(read_only=True) as uow:  # the first batch is read with the waiting check
        seen = _erasures(erased, uow, hold=False)  # before the bodies: a later erasure changes it
        oldest = uow.deliveries.oldest_waiting()
        release = oldest is not None and oldest < cutoff
        pending = [] if release else uow.deliveries.pending(batch_size)
    if release:  # a write transaction only when a delivery waited long enough
        with uow_factory() as uow:
            seen = _erasures(erased, uow, hold=True)
            uow.deliveries.release_waiting(cutoff)
            pending = uow.deliveries.pending(batch_size)
            uow.commit()
    while pending:
        prepared = pipeline.prepare(pending)
        try:
            with uow_factory() as uow:
                if (version := _erasures(erased, uow, hold=True)) != seen:  # read again, from the same place
                    seen, pending = version, uow.deliveries.pending(batch_size, after_id=pending[0].id - 1)
                    continue
                # Only what is still pending and not being processed elsewhere (locked rows are skipped).
                still = uow.deliveries.claim_pending([stored.id for stored in pending])
                report = pipeline.apply(uow, [p for p in prepared if p[0].id in still], now())
                # Deliveries that waited for an order that just arrived were requeued: start over.
                after = 0 if report.requeued else pending[-1].id
                pending = uow.deliveries.pending(batch_size, after_id=after)
                uow.commit()
        except REFUSALS as exc:  # one delivery's data, not an outage: the batch again, one by one
            log.warning(
                "a batch of %d deliveries was refused (%s); applying them one by one", len(pending), exc
            )
            pending = _one_by_one(uow_factory, pipeline, prepared, now, batch_size, erased, seen, total)
            continue
        total.add(report)
    return total


def _one_by_one(
    uow_factory: Callable[..., UnitOfWork],
    pipeline: Pipeline,
    prepared: Sequence[Prepared],
    now: Callable[[], datetime],
    batch_size: int,
    erased: ErasedCustomers | None,
    seen: int,
    total: BatchReport,
) -> list[StoredDelivery]:
    """Apply a refused batch one delivery per transaction (adding to ``total``); the deliveries to do next."""
    by_id = {p[0].id: p for p in prepared}
    requeued = total.requeued
    stale = apply_each(
        uow_factory,
        lambda uow, delivery_id: pipeline.apply(uow, [by_id[delivery_id]], now()),
        list(by_id),
        lambda uow: _erasures(erased, uow, hold=True) == seen,
        total,
    )
    after = 0 if total.requeued > requeued else prepared[-1][0].id
    with uow_factory(read_only=True) as uow:  # a stale read is read again from where it stopped
        return uow.deliveries.pending(batch_size, after_id=after if stale is None else stale - 1)


def _erasures(erased: ErasedCustomers | None, uow: UnitOfWork, *, hold: bool) -> int:
    """The erasures' version; with ``hold``, none begins until ``uow`` ends (the batch decides on what it read)."""
    return 0 if erased is None else erased.current(uow, hold=hold).version
