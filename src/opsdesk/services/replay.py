"""Replay recorded deliveries (JSON Lines of ``{"headers": {...}, "body": "<raw JSON>"}``) through intake.

The same checks as HTTP, minus HTTP: each line is verified and stored (dedupe included), then the
pipeline drains what was stored. A bad line is counted with its number and never stops the replay, nor
does a delivery whose data the database refuses (ADR 0030): its batch is stored again one delivery per
transaction and processed as the pipeline processes a refused batch, one delivery at a time, so that only
that delivery fails, with the database's reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from opsdesk.domain.records import RawDelivery, StoredDelivery
from opsdesk.ports import UnitOfWork
from opsdesk.services.erasures import ErasedCustomers
from opsdesk.services.intake import Refused, Screen, as_received, lower_headers, verify
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import BatchReport
from opsdesk.services.pipeline_drain import process_pending
from opsdesk.services.refusals import REFUSALS, delivery_fields

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReplayReport:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    bad_lines: list[str] = field(default_factory=list)
    pipeline: BatchReport = field(default_factory=BatchReport)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "refused": dict(self.refused),
            "bad_lines": self.bad_lines[:20],
            "bad_line_count": len(self.bad_lines),
            "pipeline": self.pipeline.as_dict(),
        }


def read_line(number: int, line: bytes) -> tuple[dict[str, str], bytes] | str:
    """A recorded delivery, or why the line cannot be one."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"line {number}: not JSON: {exc}"
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("headers"), dict)
        or not isinstance(record.get("body"), str)
    ):
        return f'line {number}: expected {{"headers": {{...}}, "body": "<raw JSON text>"}}'
    headers = {str(k): str(v) for k, v in record["headers"].items()}
    return lower_headers(headers), record["body"].encode()


def replay(
    lines: Iterable[bytes],
    uow_factory: Callable[..., UnitOfWork],
    *,
    secrets_for: Callable[[str], tuple[str, ...]],
    is_known: Callable[[str], bool],
    max_bytes: int,
    now: Callable[[], datetime],
    batch_size: int = 500,
    pipeline: Pipeline | None = None,
    erased: ErasedCustomers | None = None,
) -> ReplayReport:
    """Verify and store every recorded delivery, one transaction per batch.

    With a ``pipeline``, each batch is also processed in the same transaction, with the bodies
    already parsed: one commit per batch instead of one to store and one to process. ``erased`` screens
    each batch just before it is stored (ADR 0021). A batch the database refuses for its data is stored
    one delivery per transaction (one it refuses even so is counted in ``refused`` with the reason), then
    processed by ``process_pending``, which marks failed only the delivery it refuses (ADR 0030).
    """
    report = ReplayReport()
    screen = erased.screen if erased is not None else as_received
    for batch in _batches(_accepted(lines, report, secrets_for, is_known, max_bytes, now), batch_size):
        try:
            new, refused = _store(uow_factory, batch, screen, pipeline, now, report.pipeline), 0
        except REFUSALS as exc:  # one delivery's data, not an outage: the batch again, one by one
            log.warning("a batch of %d deliveries was refused (%s); storing them one by one", len(batch), exc)
            new, refused = store_each(uow_factory, batch, screen, report.refused)
            if pipeline is not None:
                report.pipeline.add(process_pending(uow_factory, pipeline, now, batch_size, erased))
        report.stored += new
        report.duplicates += len(batch) - new - refused
    return report


def _store(
    uow_factory: Callable[..., UnitOfWork],
    batch: Sequence[RawDelivery],
    screen: Screen,
    pipeline: Pipeline | None,
    now: Callable[[], datetime],
    total: BatchReport,
) -> int:
    """Store a batch (and process it, with a pipeline) in one transaction; how many deliveries were new."""
    with uow_factory() as uow:
        if pipeline is None:
            new, report = uow.deliveries.add(screen(uow, batch)), BatchReport()
        else:
            stored, pending = store_for_processing(uow, batch, screen)
            new, report = len(stored), pipeline.process(uow, pending, now())
        uow.commit()
    total.add(report)
    return new


def store_each(
    uow_factory: Callable[..., UnitOfWork],
    batch: Sequence[RawDelivery],
    screen: Screen,
    refused: Counter[str],
) -> tuple[int, int]:
    """Store a refused batch one delivery per transaction, unprocessed; how many were new and how many the
    database refused on their own (a header too long for its column: not stored, counted in ``refused``)."""
    new = not_stored = 0
    for delivery in batch:
        try:
            with uow_factory() as uow:
                added = uow.deliveries.add(screen(uow, [delivery]))
                uow.commit()
        except REFUSALS as exc:
            log.error("delivery %s of %s refused by the database: %s", delivery.webhook_id, delivery.shop, exc,
                      extra=delivery_fields(delivery))
            refused[f"422 {exc}"] += 1
            not_stored += 1
            continue
        new += added
    return new, not_stored


def store_for_processing(
    uow: UnitOfWork, batch: Sequence[RawDelivery], screen: Screen = as_received
) -> tuple[list[StoredDelivery], list[StoredDelivery]]:
    """Store a batch; return what was new and what the pipeline should process now, in the same transaction.

    What was just stored is usually all that is pending, and is then taken as stored, bodies already parsed,
    instead of read back. When something else is pending too (a delivery requeued when its order arrived in
    the previous batch), the pending batch is read as before, so the pipeline sees the same batch either way,
    but only the rows not just stored are read back (bodies and all).
    """
    stored = uow.deliveries.store(screen(uow, batch))
    if uow.deliveries.count("pending") == len(stored):
        return stored, stored
    return stored, uow.deliveries.pending(len(batch) * 2, have={s.id: s for s in stored})


def _accepted(
    lines: Iterable[bytes],
    report: ReplayReport,
    secrets_for: Callable[[str], tuple[str, ...]],
    is_known: Callable[[str], bool],
    max_bytes: int,
    now: Callable[[], datetime],
) -> Iterator[RawDelivery]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        report.lines += 1
        read = read_line(number, line)
        if isinstance(read, str):
            report.bad_lines.append(read)
            continue
        verdict = verify(
            read[0], read[1], secrets_for=secrets_for, is_known=is_known, max_bytes=max_bytes, now=now()
        )
        if isinstance(verdict, Refused):
            report.refused[f"{verdict.status} {verdict.reason}"] += 1
            continue
        yield verdict


def _batches(items: Iterable[RawDelivery], size: int) -> Iterator[list[RawDelivery]]:
    batch: list[RawDelivery] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
