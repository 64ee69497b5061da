"""Privacy requests: erase a customer's personal data, erase a shop's data, export a customer's (ADR 0016).

A signed ``customers/redact``, ``shop/redact`` or ``customers/data_request`` becomes a
``ComplianceRequested`` event; the pipeline's watcher (``PrivacyRequests.watch``) records it as a
durable timer in the batch's own transaction, and the timer sweep carries it out in a transaction of
its own: a crash before the commit leaves the timer to fire again, and every request is idempotent
(erasing what is already erased changes nothing; an export is written again under the same name).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, assert_never

from opsdesk.domain.audit import REDACTION_ACTION, content_digest
from opsdesk.domain.erasures import Erasure
from opsdesk.domain.errors import OpsdeskError, Unavailable
from opsdesk.domain.events import ComplianceKind, ComplianceRequested, StoreEvent
from opsdesk.domain.ids import LONG_ID_LENGTH, fit_id
from opsdesk.domain.privacy import (
    NOT_SENT,
    REDACTED,
    Needles,
    PrivacySubject,
    Scrubber,
    StoredRow,
    export_value,
    gather,
    gather_tracking,
    refers_to,
    rewrite_text,
)
from opsdesk.domain.records import AuditEntry, Timer
from opsdesk.ports import UnitOfWork

PRIVACY_TIMER = "privacy.request"
#: Where Shopify's payloads are stored as Shopify shaped them, so personal keys mean what they say.
#: Elsewhere (emails, cases, timers, audit) opsdesk wrote the JSON, and the personal values are found by value.
SHOPIFY_SHAPED = frozenset({"deliveries", "orders", "decisions"})
ACTOR = "privacy"
#: Writes an export where the shop's owner can fetch it: (file name, JSON bytes) -> where it went.
ExportSink = Callable[[str, bytes], str]


class Exports(Protocol):
    """Where exports are kept until fetched. They hold personal data, so an erasure removes them too."""

    def write(self, name: str, data: bytes) -> str: ...

    def erase(self, shop: str, customer_id: int | None = None) -> int:
        """Remove a customer's exports, or with no customer every export of the shop; how many went."""
        ...


def export_name(shop: str, customer_id: int | None, tag: str) -> str:
    """An export's file name under the export folder: one folder per shop, the customer in the name."""
    return f"{shop}/customer-{customer_id}-{tag}.json"


# Not an ``Unavailable``: nothing is down, and the timer sweep must record it and retry it after its delay, as
# any failure (ADR 0016), where an ``Unavailable`` stops the sweep as an outage. The CLI says "try again later"
# for it all the same (exit 3, ``cli_errors.codes``).
class PrivacyDeferred(OpsdeskError):
    """An email to the customer is being sent right now; the erasure runs again once it is done."""


class PrivacyFailed(OpsdeskError):
    """A privacy request failed; the timer sweep tries it again."""


@dataclass(slots=True)
class PrivacyReport:
    """What a request did: the orders it covered, the fields it changed or listed, by table."""

    kind: str
    shop: str
    customer_id: int | None = None
    orders: list[int] = field(default_factory=list)
    fields: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    audit_rows: int = 0
    export: str | None = None
    exports_erased: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class PrivacyRequests:
    """The pipeline watcher that records privacy requests, and the timer handler that carries them out."""

    def __init__(self, exports: Exports) -> None:
        self._exports = exports

    def watch(self, uow: UnitOfWork, events: Sequence[StoreEvent], _states: object, now: datetime) -> None:
        requests = [(e, request_timer(e, now)) for e in events if isinstance(e, ComplianceRequested)]
        if requests:
            uow.timers.schedule([timer for e, timer in requests if not _pending_as_before(uow, e, timer)])

    def timer_handlers(self) -> dict[str, Callable[[UnitOfWork, Timer, datetime], None]]:
        return {PRIVACY_TIMER: self.fire}

    def fire(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        try:
            self._carry_out(uow, timer, now)
        except (Unavailable, PrivacyDeferred):
            raise
        except Exception as exc:
            # A driver's message can quote the statement's parameters (personal data); the timer's
            # recorded error and the log get the error's type only.
            raise PrivacyFailed(f"{timer.payload.get('kind')} failed: {type(exc).__name__}") from None

    def _carry_out(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        p = timer.payload
        subject = PrivacySubject(
            p["shop"], p.get("customer_id"), _given(p.get("email")), _given(p.get("phone")),
            frozenset(p.get("orders", ())),
        )
        # Exports are removed before the erasure commits: should the commit fail, the timer fires again
        # and erases the rows; a removed export is never left describing data that was erased.
        match ComplianceKind(p["kind"]):
            case ComplianceKind.CUSTOMER_REDACT:
                erase_exports(self._exports, redact_customer(uow, subject, now))
            case ComplianceKind.SHOP_REDACT:
                erase_exports(self._exports, redact_shop(uow, subject.shop, now))
            case ComplianceKind.CUSTOMER_DATA_REQUEST:
                export_customer(uow, subject, now, self._exports.write, p.get("request_id"))
            case kind:
                assert_never(kind)


def erase_exports(exports: Exports, report: PrivacyReport) -> PrivacyReport:
    """Remove the exports an erasure covers: the customer's (when known), or all of a shop's."""
    if report.kind == ComplianceKind.SHOP_REDACT.value:
        report.exports_erased = exports.erase(report.shop)
    elif report.customer_id is not None:
        report.exports_erased = exports.erase(report.shop, report.customer_id)
    return report


def request_timer(event: ComplianceRequested, now: datetime) -> Timer:
    """The durable record of a request, due at once; its id makes a repeated delivery the same timer."""
    payload = {
        "kind": event.kind.value, "shop": event.shop, "customer_id": event.customer_id, "email": event.email,
        "phone": event.phone, "orders": list(event.orders), "request_id": event.request_id,
    }
    who = "shop" if event.kind is ComplianceKind.SHOP_REDACT else f"customer:{event.customer_id}"
    # The shop is in the id: two shops' requests made at the same instant are two requests.
    timer_id = fit_id(f"privacy:{event.shop}:{event.key}", length=LONG_ID_LENGTH)
    return Timer(timer_id, PRIVACY_TIMER, f"privacy:{event.shop}|{who}", now, payload)


def _pending_as_before(uow: UnitOfWork, event: ComplianceRequested, timer: Timer) -> bool:
    """The request is pending already under the id it had before ids named the shop (``privacy:<key>``)."""
    return any(pending.id == f"privacy:{event.key}" for pending in uow.timers.pending(timer.subject))


def find_customer(uow: UnitOfWork, subject: PrivacySubject) -> tuple[PrivacySubject, Needles, list[StoredRow]]:
    """The customer's orders, personal values and every stored row that holds their data.

    Two passes: the first reads the customer's own records (their orders, cases, raw deliveries) and
    gathers the personal values in them (names, addresses); the second finds every row mentioning one.
    """
    orders = subject.orders | uow.privacy.orders_of(subject.shop, subject.customer_id, subject.email)
    subject = replace(subject, orders=frozenset(orders))
    needles = Needles()
    needles.add("email", subject.email)
    needles.add("phone", subject.phone)
    for row in uow.privacy.rows(subject, sorted(needles.strong)):
        if not _own(row, subject):
            continue
        for value in map(export_value, row.values.values()):
            # Tracking is looked for in every record of theirs: the order and its cases keep it after the deliveries
            # that brought it are gone (ADR 0025).
            gather_tracking(value, needles)
            if row.table in SHOPIFY_SHAPED:
                gather(value, needles)
    rows = uow.privacy.rows(subject, sorted(needles.strong))
    return subject, needles, rows


def redact_customer(uow: UnitOfWork, subject: PrivacySubject, now: datetime) -> PrivacyReport:
    """Erase a customer's personal data everywhere it is stored; ids, amounts and statuses stay.

    The erasure is recorded (ids only, ADR 0021), so that what arrives about them later is erased on
    arrival; it begins before anything is read, so nothing stored meanwhile escapes both.
    """
    uow.privacy.begin_erasure()
    subject, needles, rows = find_customer(uow, subject)
    if subject.customer_id is not None:
        uow.privacy.record_erasure(Erasure(subject.shop, subject.customer_id, subject.orders, now))
    report = PrivacyReport(ComplianceKind.CUSTOMER_REDACT.value, subject.shop, subject.customer_id,
                           sorted(subject.orders))
    audit_ids: list[int] = []
    for row in rows:
        own = _own(row, subject)
        scrub, structured = Scrubber(needles, linked=own), own and row.table in SHOPIFY_SHAPED
        changed: dict[str, object] = {
            col: _encoded(row.table, new)
            for col, old in row.values.items()
            if old is not None and (new := rewrite_text(old, scrub, structured=structured)) != old
        }
        if not changed:
            continue
        changed.update(_unsendable(row, changed, now))
        uow.privacy.rewrite(row, changed)
        report.fields += len(changed)
        report.tables[row.table] = report.tables.get(row.table, 0) + 1
        if row.table == "audit":
            audit_ids.append(int(row.key[0]))
    report.audit_rows = len(audit_ids)
    _vouch(uow, audit_ids, f"customer:{subject.shop}:{subject.customer_id}", report, now)
    return report


def redact_shop(uow: UnitOfWork, shop: str, now: datetime) -> PrivacyReport:
    """Erase everything stored about a shop; its audit rows keep who did what, not the content."""
    report = PrivacyReport(ComplianceKind.SHOP_REDACT.value, shop)
    audit_ids = []
    for row in uow.privacy.shop_audit(shop):
        if any(v is not None for v in row.values.values()):
            uow.privacy.rewrite(row, {"before": None, "after": None})
            audit_ids.append(int(row.key[0]))
    report.tables = {k: v for k, v in uow.privacy.erase_shop(shop).items() if v}
    report.audit_rows = len(audit_ids)
    _vouch(uow, audit_ids, f"shop:{shop}", report, now)
    return report


def export_customer(
    uow: UnitOfWork, subject: PrivacySubject, now: datetime, sink: ExportSink | None = None,
    request_id: int | None = None,
) -> tuple[PrivacyReport, list[dict[str, Any]]]:
    """Every stored field that holds the customer's data, as (table, row, field, value) entries."""
    subject, needles, rows = find_customer(uow, subject)
    entries = []
    for row in rows:
        own = _own(row, subject)
        scrub = Scrubber(needles, linked=own)
        for col, value in row.values.items():
            if value and (own or scrub.found(value)):
                entries.append({"table": row.table, "row": list(row.key), "field": col, "value": export_value(value)})
    report = PrivacyReport(ComplianceKind.CUSTOMER_DATA_REQUEST.value, subject.shop, subject.customer_id,
                           sorted(subject.orders), fields=len(entries))
    for entry in entries:
        report.tables[entry["table"]] = report.tables.get(entry["table"], 0) + 1
    if sink is not None:
        name = export_name(subject.shop, subject.customer_id, str(request_id or now.strftime("%Y%m%dT%H%M%SZ")))
        document = {"shop": subject.shop, "customer_id": subject.customer_id, "orders": report.orders,
                    "exported_at": now.isoformat(), "fields": entries}
        report.export = sink(name, json.dumps(document, indent=2, ensure_ascii=False, default=str).encode())
        after = {"file": report.export, "fields": report.fields, "tables": report.tables}
        uow.audit.record([AuditEntry(now, ACTOR, "privacy.exported", f"customer:{subject.shop}:{subject.customer_id}",
                                     None, after)])
    return report, entries


def _given(value: str | None) -> str:
    """A contact detail of the request; none when it came erased (a request repeated after the erasure,
    ADR 0021), since ``[redacted]`` would match every erased customer's orders."""
    return "" if value is None or value == REDACTED else value


def _own(row: StoredRow, subject: PrivacySubject) -> bool:
    """A record of the customer's own: linked by order or case, or a raw delivery about them."""
    if row.linked:
        return True
    if row.table != "deliveries":
        return False
    return refers_to(export_value(row.values.get("body")), subject)


def _encoded(table: str, value: str) -> str | bytes:
    return value.encode() if table == "deliveries" else value


def _unsendable(row: StoredRow, changed: Mapping[str, object], now: datetime) -> dict[str, object]:
    """A pending action whose payload lost its recipient is not sent; one being sent now defers the erasure."""
    if row.table != "actions" or "payload" not in changed or row.control.get("status") != "pending":
        return {}
    lease_until = row.control.get("lease_until")
    if isinstance(lease_until, datetime) and lease_until > now:
        raise PrivacyDeferred()
    return {"status": "failed", "last_error": NOT_SENT}


def _vouch(uow: UnitOfWork, audit_ids: list[int], subject: str, report: PrivacyReport, now: datetime) -> None:
    """Chain an entry vouching for the rewritten audit rows as they are now (ADR 0016), and the counts."""
    digests = {}
    for row_id in sorted(audit_ids):
        (row,) = uow.audit.chain(row_id - 1, 1)
        digests[str(row_id)] = content_digest(row)
    after = {"request": report.kind, "rows": digests, "fields": report.fields, "tables": report.tables}
    uow.audit.record([AuditEntry(now, ACTOR, REDACTION_ACTION, subject, None, after)])
