"""A batch the database refused, worked one delivery at a time so that only the refused one fails (ADR 0030).

A value the database will not store (an order name too long for its column, a number out of range) is
refused with the whole transaction. Retried as a batch it is refused again, for ever, and every delivery
behind it waits: a poison pill. The batch is therefore applied again one delivery per transaction; the
one refused on its own is marked ``failed`` with the database's reason, as an unreadable delivery is, and
the others go through. An outage (``Unavailable``) is not a refusal: it propagates and is retried whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from opsdesk.domain.errors import Conflict, DataRefused
from opsdesk.domain.records import RawDelivery
from opsdesk.ports import UnitOfWork
from opsdesk.services.pipeline_batch import BatchReport

log = logging.getLogger(__name__)

#: What a transaction's write can be refused with for its data: a value the database will not store, or a
#: constraint it breaks. Races the code expects (a claim, an open case's key) are caught where they happen.
REFUSALS = (DataRefused, Conflict)


def delivery_fields(delivery: RawDelivery) -> dict[str, str]:
    """What a log line says of a delivery (``extra=``): where it came from, never its body."""
    return {"shop": delivery.shop, "webhook_id": delivery.webhook_id, "topic": delivery.topic}


def apply_each(
    uow_factory: Callable[..., UnitOfWork],
    apply: Callable[[UnitOfWork, int], BatchReport],
    ids: Sequence[int],
    still_current: Callable[[UnitOfWork], bool],
    total: BatchReport,
) -> int | None:
    """Apply the deliveries ``ids`` one per transaction, adding to ``total``; a refused one fails alone.

    ``apply(uow, id)`` processes one claimed delivery in ``uow``; ``still_current(uow)`` is False when what
    was read before is stale (an erasure committed meanwhile). Returns the id to read again from if it
    stopped on a stale read, else None.
    """
    for delivery_id in ids:
        try:
            with uow_factory() as uow:
                if not still_current(uow):
                    return delivery_id
                if uow.deliveries.claim_pending([delivery_id]):
                    report = apply(uow, delivery_id)
                    uow.commit()
                    total.add(report)
        except REFUSALS as exc:
            log.error("delivery %s refused by the database; marked failed: %s", delivery_id, exc,
                      extra={"delivery_id": delivery_id})
            with uow_factory() as uow:
                uow.deliveries.mark_processed([delivery_id], "failed", str(exc))
                uow.commit()
            total.deliveries += 1
            total.failed += 1
    return None
