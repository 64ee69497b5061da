"""Deliveries about erased customers are erased on arrival, in the transaction that stores them (ADR 0021).

Shopify retries a webhook for hours, so an order update can arrive after ``customers/redact`` erased its
customer. Every path that stores deliveries (HTTP intake's group commit, ``opsdesk ingest``, the
simulator, the reconciliation sweep) hands them to ``ErasedCustomers.screen`` first: a delivery about an
erased customer (their id, or one of their orders', is in it) is stored as their erasure would have left
it (``privacy.erase_record``), and an audit entry names the delivery, not the data. The pipeline decides
on what was stored, so the order's state, the decision's inputs and the cases hold no personal data.

The erased customers are read once per process, then again only when their version (the highest row
id) changes: a batch costs one read of that number, plus on PostgreSQL a shared lock that keeps an
erasure from beginning until the batch is stored (``PrivacyRepository.begin_erasure``); a delivery of a
shop with no erased customer costs a dictionary lookup, one of a shop with some a parse of its body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson

from opsdesk.domain.erasures import Erased
from opsdesk.domain.privacy import erase_record
from opsdesk.domain.records import AuditEntry, RawDelivery
from opsdesk.ports import UnitOfWork
from opsdesk.services.privacy import ACTOR

#: The audit entry of a delivery erased on arrival (not ``privacy.redacted``: that one vouches for audit rows).
ARRIVAL_ACTION = "privacy.redacted_on_arrival"


class ErasedCustomers:
    """The shops' erased customers, read once and kept current; one per process, shared by its threads."""

    def __init__(self) -> None:
        self._known = Erased()

    def current(self, uow: UnitOfWork, *, hold: bool = False) -> Erased:
        """The erased customers as stored now; with ``hold``, no erasure begins until ``uow`` ends."""
        version = uow.privacy.erasures_version(hold=hold)
        known = self._known
        if known.version != version:
            # Threads may reload at once: each uses the copy it read, checked against its own transaction.
            known = self._known = Erased.of(version, uow.privacy.erasures())
        return known

    def screen(self, uow: UnitOfWork, deliveries: Sequence[RawDelivery]) -> list[RawDelivery]:
        """The deliveries to store, each about an erased customer erased and audited; call it in the
        transaction that stores them."""
        erased = self.current(uow, hold=True)
        screened: list[RawDelivery] = []
        audited: list[AuditEntry] = []
        for d in deliveries:
            whose = _whose(erased, d)
            if whose is None:
                screened.append(d)
                continue
            screened.append(_erased(d))
            after = {"topic": d.topic, "webhook_id": d.webhook_id}
            audited.append(AuditEntry(d.received_at, ACTOR, ARRIVAL_ACTION, f"customer:{d.shop}:{whose}", None, after))
        if audited:
            uow.audit.record(audited)
        return screened


def _whose(erased: Erased, d: RawDelivery) -> int | None:
    if not erased.covers(d.shop):
        return None
    return erased.whose(d.shop, d.payload if d.payload is not None else _parsed(d.body))


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:  # intake let it through as JSON; a body that is not names no one
        return None


def _erased(d: RawDelivery) -> RawDelivery:
    body = erase_record(d.body.decode("utf-8", errors="replace")).encode()
    # Its packed form, if worked out ahead, was the body before the erasure: storage packs the new one.
    return replace(d, body=body, payload=None if d.payload is None else orjson.loads(body), packed=None)
