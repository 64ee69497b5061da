"""Intake: verify a webhook delivery and store it durably before anyone is told "received".

The same ``verify`` serves HTTP (``POST /webhooks/shopify``) and replay (``opsdesk ingest``).
Stores go through a group committer: one writer thread commits whatever deliveries have arrived
together as one transaction, so durable acknowledgement costs one fsync per batch, not per delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

import orjson

from opsdesk.domain.errors import DataRefused, Unavailable
from opsdesk.domain.records import RawDelivery
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.refusals import REFUSALS, delivery_fields

log = logging.getLogger(__name__)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
#: What verified deliveries become just before they are stored, in the transaction that stores them:
#: ``ErasedCustomers.screen`` erases those about an erased customer (ADR 0021).
Screen = Callable[[UnitOfWork, Sequence[RawDelivery]], Sequence[RawDelivery]]


def as_received(_uow: UnitOfWork, deliveries: Sequence[RawDelivery]) -> Sequence[RawDelivery]:
    """Store deliveries as they came (tests and tools with no erased customers to screen for)."""
    return deliveries


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    reason: str


def header(headers: Mapping[str, str], name: str) -> str:
    """A Shopify header by its bare name, under ``X-Shopify-`` or ``shopify-``, in any letter case."""
    for prefix in ("x-shopify-", "shopify-"):
        value = headers.get(prefix + name)
        if value:
            return value.strip()
    return ""


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def signature_ok(body: bytes, signature: str, secrets: tuple[str, ...]) -> bool:
    """Constant-time HMAC-SHA256 check against every accepted secret (current and previous)."""
    try:
        given = base64.b64decode(signature.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return False
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        ok |= hmac.compare_digest(expected, given)
    return ok


RESERVED_TOPIC_PREFIX = "opsdesk/"
"""Topics the desk appends for its own signals (services/signals.py); never accepted from outside."""


def _timestamp(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets_for: Callable[[str], tuple[str, ...]],
    is_known: Callable[[str], bool],
    max_bytes: int,
    now: datetime,
    keep_payload: bool = True,
) -> RawDelivery | Refused:
    """Check one delivery; ``headers`` must have lower-case names. Never raises for bad input.

    ``keep_payload`` keeps the parsed body on the delivery for processing in the same pass (replay);
    HTTP intake drops it, since holding thousands of parsed bodies until commit costs more than parsing.
    """
    if len(body) > max_bytes:
        return Refused(413, f"body of {len(body)} bytes is over the limit of {max_bytes}")
    signature = header(headers, "hmac-sha256")
    shop = header(headers, "shop-domain").lower()
    if not signature:
        return Refused(401, "missing signature header X-Shopify-Hmac-Sha256")
    if not shop:
        return Refused(400, "missing header X-Shopify-Shop-Domain")
    secrets = secrets_for(shop)
    if not secrets:
        return Refused(401, f"no secret configured to verify deliveries from {shop}")
    if not signature_ok(body, signature, secrets):
        return Refused(401, "signature does not match")
    return _accept(headers, body, shop, is_known(shop), now, keep_payload)


def _accept(
    headers: Mapping[str, str], body: bytes, shop: str, known: bool, now: datetime, keep: bool
) -> RawDelivery | Refused:
    topic = header(headers, "topic")
    webhook_id = header(headers, "webhook-id") or header(headers, "event-id")
    if not topic or not webhook_id:
        return Refused(400, "missing header X-Shopify-Topic or X-Shopify-Webhook-Id")
    if topic.lower().startswith(RESERVED_TOPIC_PREFIX):
        return Refused(400, f"topic {topic} is reserved for the desk's own signals")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Refused(400, f"body is not valid JSON: {exc}")
    return RawDelivery(
        shop=shop,
        webhook_id=webhook_id,
        topic=topic.lower(),
        body=body,
        received_at=now,
        api_version=header(headers, "api-version"),
        event_id=header(headers, "event-id"),
        triggered_at=_timestamp(header(headers, "triggered-at")),
        known_shop=known,
        payload=payload if keep else None,
    )


_STOP = object()


class GroupCommitter:
    """One writer thread that commits every delivery waiting in the queue as one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 2000,
        on_commit: Callable[[int, int], None] | None = None,
        screen: Screen = as_received,
    ):
        self._db = db
        self._screen = screen
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="opsdesk-intake-writer", daemon=True)
        self._thread.start()

    def submit(self, delivery: RawDelivery) -> Future[None]:
        future: Future[None] = Future()
        self._queue.put((delivery, future))
        return future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = self._drain(batch)
            self._commit(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _drain(self, batch: list[object]) -> bool:
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _STOP:
                return True
            batch.append(item)
        return False

    def _commit(self, batch: list[tuple[RawDelivery, Future[None]]]) -> None:
        try:
            new = self._store([d for d, _ in batch])
        except Unavailable as exc:
            for _, future in batch:
                future.set_exception(exc)
            return
        except REFUSALS:  # one delivery's data, not an outage: each alone, so that only it is refused (ADR 0030)
            self._commit_each(batch)
            return
        except Exception as exc:
            for _, future in batch:
                future.set_exception(Unavailable(f"could not store delivery: {type(exc).__name__}"))
            return
        if self._on_commit:
            self._on_commit(len(batch), new)
        for _, future in batch:
            future.set_result(None)

    def _store(self, deliveries: list[RawDelivery]) -> int:
        with self._db.unit_of_work() as uow:
            new = uow.deliveries.add(self._screen(uow, deliveries))
            uow.commit()
        return new

    def _commit_each(self, batch: list[tuple[RawDelivery, Future[None]]]) -> None:
        """A group the database refused, one delivery per transaction: the refused one is answered with the
        refusal (``DataRefused``, a 422 naming the database's reason), the others are stored and answered."""
        stored = new = 0
        for delivery, future in batch:
            try:
                new += self._store([delivery])
            except REFUSALS as exc:
                log.error("delivery %s of %s refused by the database: %s", delivery.webhook_id, delivery.shop, exc,
                          extra=delivery_fields(delivery))
                future.set_exception(exc if isinstance(exc, DataRefused) else DataRefused(str(exc)))
                continue
            except Unavailable as exc:
                future.set_exception(exc)
                continue
            except Exception as exc:
                future.set_exception(Unavailable(f"could not store delivery: {type(exc).__name__}"))
                continue
            stored += 1
            future.set_result(None)
        if self._on_commit and stored:
            self._on_commit(stored, new)
