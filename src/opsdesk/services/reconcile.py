"""The reconciliation sweep: ask the Admin API what changed, append what the desk never heard of.

Shopify does not guarantee delivery (8 retries over 4 hours, then a webhook is gone), and tells apps
to reconcile. Each sweep reads the orders updated since the shop's high-water mark (less an overlap,
for clock skew and changes committed while the last sweep ran), page by page with GraphQL cursors,
and compares each with what the desk knows: an order the projection does not hold (missing), holds at
an older ``updated_at`` (stale), or holds at this version while the ``orders/updated`` for it was never
decided (undecided: its state came through another topic, ``orders/paid`` say, and the update itself
was lost) gets a synthetic ``orders/updated`` delivery shaped like the webhook, so the ordinary
pipeline folds and decides it. Its webhook id is derived from (order id, ``updated_at``), so running
the sweep again stores nothing twice; its event key is the webhook's (``order.updated:<id>:<time>``), so
a real ``orders/updated`` for the same change arriving later is decided once, not twice.

Refunds come in the same query (a refund moves its order's ``updated_at``): each refund on the order that
its projection does not hold gets a synthetic ``refunds/create`` after the order's own delivery, and one it
holds whose event was never decided likewise. A refund never changes once made (there is no
``refunds/update``), so its event key (``refund.created:<id>``) has no time, and a real ``refunds/create``
arriving after the sweep is decided once, not twice.

Disputes come next, through their own query: a lost ``disputes/create`` is a chargeback whose evidence
deadline nobody sees. Shopify's dispute search has no ``updated_at``, so each sweep reads the disputes
initiated since the mark less ``dispute_window`` (the time a dispute stays live), and compares each with
the dispute on the order's projection and with the decisions taken on its version: one the desk never
heard of gets a ``disputes/create``, one it holds at an older version a ``disputes/update``. The event key
of a dispute (``dispute.<change>:<id>:<status>:<time>``) is the webhook's, so a late real webhook for the
same version is decided once, not twice.

The mark is kept per shop in ``guardrail_usage`` (key ``reconcile:mark:<shop>``; ``amount`` holds the
time as epoch seconds, ``count`` the sweeps finished) and only moves when a whole sweep succeeded: a
failed page (after the connector's retries, honouring ``Retry-After``) leaves it where it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import orjson

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import DisputeChanged, OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import Breaker, Rejected, RetryLater
from opsdesk.domain.policies import Usage
from opsdesk.domain.records import RawDelivery
from opsdesk.normalise.shopify import normalise
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.intake import Screen, as_received
from opsdesk.services.pipeline import decision_id

#: ``api_version`` of the deliveries the sweep appends: tells them apart from Shopify's in the raw store.
RECONCILE = "reconcile"
TOPIC = "orders/updated"
FULFILMENT_TOPIC = "fulfillments/update"
REFUND_TOPIC = "refunds/create"
DISPUTE_CREATED = "disputes/create"
DISPUTE_UPDATED = "disputes/update"
MARK_PREFIX = "reconcile:mark:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON = dict[str, Any]


class OrderReader(Protocol):
    """What the sweep needs from the Admin API connector (``ShopifyAdmin.orders_updated``, ``order`` and
    ``disputes_initiated``)."""

    #: How many of an order's refunds and fulfilments a listed order carries: one with that many may have more.
    listed: int

    def orders_updated(
        self, shop: str, since: datetime, after: str | None, first: int
    ) -> JSON | RetryLater | Rejected:
        """A page of the orders changed since ``since``: each with its id, ``updatedAt`` and its first
        ``listed`` refunds (``legacyResourceId``, ``createdAt``) and fulfilments (with ``updatedAt``)."""

    def order(self, shop: str, order_gid: str) -> JSON | RetryLater | Rejected:
        """The whole order, every list read to its end, or with ``incomplete`` saying why not."""

    def disputes_initiated(
        self, shop: str, since: datetime, after: str | None, first: int
    ) -> JSON | RetryLater | Rejected: ...


class SweepFailed(Exception):
    """The Admin API did not answer a page; the mark stays where it was."""


@dataclass(frozen=True, slots=True)
class SweepSettings:
    overlap: timedelta = timedelta(minutes=5)
    page_size: int = 100
    #: Where the first sweep of a shop starts, before there is a mark.
    initial_lookback: timedelta = timedelta(hours=24)
    #: Tries per page; waits between them follow the provider's Retry-After, capped at ``max_wait``.
    attempts: int = 3
    max_wait: float = 30.0
    #: Whether Shopify Payments disputes are swept too (the app needs ``read_shopify_payments_disputes``).
    disputes: bool = True
    #: How long before the mark a dispute is re-read: its search has no ``updated_at``, so a change to a
    #: dispute initiated earlier than this is not seen. Card networks settle most disputes within 120 days.
    dispute_window: timedelta = timedelta(days=120)


@dataclass(slots=True)
class SweepReport:
    shop: str
    since: datetime
    started_at: datetime
    ok: bool = False
    error: str = ""
    pages: int = 0
    seen: int = 0
    missing: int = 0
    stale: int = 0
    undecided: int = 0
    appended: int = 0
    #: Missing or stale orders whose reconciliation delivery was appended by an earlier sweep already.
    already_appended: int = 0
    unreadable: int = 0
    dispute_pages: int = 0
    disputes_seen: int = 0
    #: Refunds read on the orders (the orders query carries them; they have no pages of their own).
    refunds_seen: int = 0
    #: Orders read whole because the desk is behind on them (or their listing could not tell).
    orders_read: int = 0
    #: Orders that could not be read whole (more refunds or fulfilments than Shopify lets one query read,
    #: or gone since they were listed): not appended, rather than folded as if they had only what was read.
    incomplete: list[str] = field(default_factory=list)
    mark: datetime | None = None
    found: list[JSON] = field(default_factory=list)

    def as_dict(self) -> JSON:
        return {
            "shop": self.shop, "since": self.since.isoformat(), "started_at": self.started_at.isoformat(),
            "ok": self.ok, "error": self.error, "pages": self.pages, "seen": self.seen,
            "missing": self.missing, "stale": self.stale, "undecided": self.undecided, "appended": self.appended,
            "already_appended": self.already_appended, "unreadable": self.unreadable,
            "dispute_pages": self.dispute_pages, "disputes_seen": self.disputes_seen,
            "refunds_seen": self.refunds_seen, "orders_read": self.orders_read, "incomplete": self.incomplete,
            "mark": self.mark.isoformat() if self.mark else None, "found": self.found[:200],
        }


# -- the mark ---------------------------------------------------------------------------------------


def _to_amount(moment: datetime) -> Decimal:
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return Decimal(micros).scaleb(-6)


def _from_amount(amount: Decimal) -> datetime:
    return EPOCH + timedelta(microseconds=int(amount.scaleb(6)))


def read_mark(uow: UnitOfWork, shop: str) -> datetime | None:
    """The shop's high-water mark: the start of the last sweep that finished, or None before the first."""
    found = uow.usage.get_many([MARK_PREFIX + shop]).get(MARK_PREFIX + shop)
    return _from_amount(found.amount) if found is not None and found.count > 0 else None


def write_mark(uow: UnitOfWork, shop: str, moment: datetime) -> datetime:
    """Move the mark forward to ``moment`` (never back); returns the mark kept."""
    key = MARK_PREFIX + shop
    found = uow.usage.get_many([key]).get(key)
    current = _from_amount(found.amount) if found is not None and found.count > 0 else None
    kept = moment if current is None or moment > current else current
    uow.usage.put_many({key: Usage(count=(found.count if found else 0) + 1, amount=_to_amount(kept))})
    return kept


# -- GraphQL order -> webhook-shaped order ----------------------------------------------------------


def _number(gid: object) -> int | None:
    if gid is None:
        return None
    text = str(gid).rsplit("/", 1)[-1]
    return int(text) if text.isdigit() else None


def _amount(money: object) -> str | None:
    if not isinstance(money, dict):
        return None
    shop_money = money.get("shopMoney")
    return str(shop_money.get("amount")) if isinstance(shop_money, dict) else None


_FULFILMENT = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled",
               "RESTOCKED": "restocked"}


def _nodes(connection: object) -> list[JSON]:
    if not isinstance(connection, dict):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]


def webhook_payload(node: JSON) -> JSON:
    """An Admin GraphQL ``Order`` as the ``orders/updated`` webhook's body (the REST resource), so that
    the ordinary normaliser reads it. Only what the order projection uses is carried over."""
    order_id = int(node.get("legacyResourceId") or _number(node.get("id")) or 0)
    customer = node.get("customer") if isinstance(node.get("customer"), dict) else None
    address = node.get("shippingAddress") if isinstance(node.get("shippingAddress"), dict) else None
    status = node.get("displayFulfillmentStatus")
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": node.get("name"),
        "email": node.get("email"),
        "currency": node.get("currencyCode"),
        "total_price": _amount(node.get("totalPriceSet")),
        "subtotal_price": _amount(node.get("subtotalPriceSet")),
        "total_discounts": _amount(node.get("totalDiscountsSet")),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower() or None,
        "fulfillment_status": _FULFILMENT.get(str(status), str(status).lower()) if status else None,
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": str(node["cancelReason"]).lower() if node.get("cancelReason") else None,
        "closed_at": node.get("closedAt"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "tags": ", ".join(str(t) for t in node.get("tags") or []),
        "source_name": node.get("sourceName"),
        "location_id": None,
        "discount_codes": [{"code": str(c)} for c in node.get("discountCodes") or []],
        "payment_gateway_names": [str(g) for g in node.get("paymentGatewayNames") or []],
        "discount_applications": [
            {"code": a["code"]} if a.get("code") else {"title": a.get("title")}
            for a in _nodes(node.get("discountApplications"))
        ],
        "customer": None if customer is None else {
            "id": _number(customer.get("id")), "created_at": customer.get("createdAt")},
        "shipping_address": None if address is None else {
            "name": address.get("name"), "address1": address.get("address1"),
            "address2": address.get("address2"), "city": address.get("city"),
            "province_code": address.get("provinceCode"), "zip": address.get("zip"),
            "country_code": address.get("countryCodeV2"), "phone": address.get("phone")},
        "fulfillments": [_fulfilment(order_id, f) for f in node.get("fulfillments") or [] if isinstance(f, dict)],
        "refunds": [refund_payload(order_id, r) for r in node.get("refunds") or [] if isinstance(r, dict)],
        "line_items": [
            {"id": _number(item.get("id")), "sku": item.get("sku"), "quantity": item.get("quantity"),
             "variant_id": _number((item.get("variant") or {}).get("id")),
             "product_id": _number((item.get("product") or {}).get("id")),
             "price": _amount(item.get("originalUnitPriceSet")),
             "total_discount": _amount(item.get("totalDiscountSet")) or "0.00"}
            for item in _nodes(node.get("lineItems"))
        ],
    }


#: ``Fulfillment.displayStatus`` values that say nothing about the shipment (REST ``shipment_status`` null).
_NO_SHIPMENT_STATUS = frozenset({"FULFILLED", "MARKED_AS_FULFILLED", "SUBMITTED", "CANCELED", "LABEL_VOIDED"})


def _fulfilment(order_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``Fulfillment`` as the ``fulfillments/update`` webhook's body."""
    display = str(node.get("displayStatus") or "")
    tracking = [t for t in node.get("trackingInfo") or [] if isinstance(t, dict)]
    location = node.get("location") if isinstance(node.get("location"), dict) else {}
    return {
        "id": int(node.get("legacyResourceId") or _number(node.get("id")) or 0),
        "order_id": order_id,
        "status": str(node.get("status") or "").lower() or None,
        "shipment_status": None if not display or display in _NO_SHIPMENT_STATUS else display.lower(),
        "tracking_company": tracking[0].get("company") if tracking else None,
        "location_id": _number(location.get("legacyResourceId")) if location else None,
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
    }


def refund_payload(order_id: int, node: JSON) -> JSON:
    """An Admin GraphQL ``Refund`` as the ``refunds/create`` webhook's body, with what ``refund_created``
    reads: the refund transactions, else the refunded lines' subtotals, in shop money. GraphQL gives a refund
    no ``processedAt``, so the normaliser dates it by ``created_at``, as it does a webhook without one."""
    return {
        "id": int(node.get("legacyResourceId") or _number(node.get("id")) or 0),
        "order_id": order_id,
        "note": node.get("note"),
        "created_at": node.get("createdAt"),
        "transactions": [
            {"id": _number(t.get("id")), "kind": _lower(t.get("kind")), "status": _lower(t.get("status")),
             **_money(t.get("amountSet"), "amount", "currency")}
            for t in _nodes(node.get("transactions"))
        ],
        "refund_line_items": [
            {"id": _number(line.get("id")), "quantity": line.get("quantity"),
             "line_item_id": _number(_object(line.get("lineItem")).get("id")),
             "subtotal_set": {"shop_money": _money(line.get("subtotalSet"), "amount", "currency_code")}}
            for line in _nodes(node.get("refundLineItems"))
        ],
    }


def _money(money_set: object, amount: str, currency: str) -> JSON:
    """A GraphQL ``MoneyBag``'s shop money under the REST names ``amount`` and ``currency``."""
    shop_money = _object(_object(money_set).get("shopMoney"))
    found = shop_money.get("amount")
    return {amount: None if found is None else str(found), currency: shop_money.get("currencyCode")}


def dispute_payload(node: JSON) -> JSON:
    """An Admin GraphQL ``ShopifyPaymentsDispute`` as the ``disputes/*`` webhook's body (the REST resource),
    with every field of Shopify's sample, so that the ordinary normaliser reads it and dates it the same:
    its version time is the latest of ``finalized_on``, ``evidence_sent_on``, ``initiated_at``."""
    order, money, reason = (_object(node.get(name)) for name in ("order", "amount", "reasonDetails"))
    return {
        "id": int(node.get("legacyResourceId") or _number(node.get("id")) or 0),
        "order_id": _number(order.get("legacyResourceId")),
        "type": _lower(node.get("type")),
        "amount": None if money.get("amount") is None else str(money["amount"]),
        "currency": money.get("currencyCode"),
        "reason": _lower(reason.get("reason")),
        "network_reason_code": reason.get("networkReasonCode"),
        "status": _lower(node.get("status")),
        "evidence_due_by": _instant(node.get("evidenceDueBy")),
        "evidence_sent_on": _instant(node.get("evidenceSentOn")),
        "finalized_on": _instant(node.get("finalizedOn")),
        "initiated_at": _instant(node.get("initiatedAt")),
    }


def _object(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def _lower(value: object) -> str | None:
    """A GraphQL enum (``NEEDS_RESPONSE``) as the REST value (``needs_response``)."""
    return str(value).lower() if value else None


def _instant(value: object) -> str | None:
    """A GraphQL DateTime as it is; a bare Date (what API versions before 2026-01 give for a dispute's
    evidence and finalisation dates) as midnight UTC, since the webhook's fields carry an offset."""
    if not value:
        return None
    text = str(value)
    return f"{text}T00:00:00+00:00" if len(text) == 10 else text


def _dispute_event(shop: str, payload: JSON) -> DisputeChanged | None:
    """The event the normaliser makes of the dispute (as created; None when it cannot read it)."""
    if not payload["id"]:
        return None
    try:
        events = normalise(DISPUTE_CREATED, ShopDomain(shop), payload, None)
    except InvalidPayload:
        return None
    found = events[0] if isinstance(events, tuple) and events else None
    return found if isinstance(found, DisputeChanged) else None


def _utc(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def synthetic_delivery(
    shop: str, topic: str, resource: str, payload: JSON, updated_at: datetime, now: datetime
) -> RawDelivery:
    """The delivery the sweep appends; its id is the same every time for this version of the resource."""
    stamp = updated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    name = f"{payload['id']}" if resource == "order" else resource
    webhook_id = f"reconcile:{name}:{stamp}"
    return RawDelivery(
        shop=shop, webhook_id=webhook_id, topic=topic, body=orjson.dumps(payload), received_at=now,
        api_version=RECONCILE, event_id=webhook_id, triggered_at=updated_at,
    )


# -- the sweep --------------------------------------------------------------------------------------


class Reconciler:
    """Sweeps shops through one reader; keeps one circuit breaker across sweeps, like the outbox."""

    def __init__(
        self,
        db: Database,
        reader: OrderReader,
        now: Callable[[], datetime],
        settings: SweepSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        breaker: Breaker | None = None,
        listeners: Callable[[str], Sequence[str]] = lambda _event: ("-",),
        screen: Screen = as_received,
    ) -> None:
        self.db = db
        self.reader = reader
        self.now = now
        self.settings = settings or SweepSettings()
        self.sleep = sleep
        self.breaker = breaker or Breaker()
        #: The playbooks that decide an event ("-" when none does): a decision by any of them for the
        #: event's key says that version was heard.
        self.listeners = listeners
        #: Sees what a sweep appends just before it is stored (ADR 0021: erased customers' data is erased).
        self.screen = screen

    def sweep(
        self, shop: str, since: datetime | None = None, progress: Callable[[int, int], None] | None = None
    ) -> SweepReport:
        """One sweep of ``shop``; ``since`` overrides the mark. Never raises for Admin API failures."""
        started = self.now()
        if since is None:
            with self.db.unit_of_work(read_only=True) as uow:
                mark = read_mark(uow, shop)
            since = mark - self.settings.overlap if mark else started - self.settings.initial_lookback
        report = SweepReport(shop=shop, since=since, started_at=started)
        size, window = self.settings.page_size, since - self.settings.dispute_window
        try:
            for page in self._pages("orders", lambda after: self.reader.orders_updated(shop, since, after, size)):
                # The listing is cheap; only the orders the desk is behind on are read whole, one a query,
                # outside any transaction.
                whole = [self._read_whole(shop, gid) for gid in self._behind(shop, _nodes(page), report)]
                self._compare(shop, whole, report)
                report.pages += 1
                if progress is not None:
                    progress(report.seen, report.appended)
            # After the orders: a dispute on an order that was lost too is then appended after its order,
            # so the pipeline folds the order first and the dispute does not wait for it.
            if self.settings.disputes:
                read = self.reader.disputes_initiated
                for page in self._pages("disputes", lambda after: read(shop, window, after, size)):
                    self._compare_disputes(shop, _nodes(page), report)
                    report.dispute_pages += 1
        except SweepFailed as exc:
            report.error = str(exc)
            return report
        with self.db.unit_of_work() as uow:
            report.mark = write_mark(uow, shop, started)
            uow.commit()
        report.ok = True
        return report

    def _read_whole(self, shop: str, order_gid: str) -> JSON:
        """One order read whole, with the retries and the breaker of a page; raises SweepFailed if not read."""
        return self._page(f"order {order_gid}", lambda _cursor: self.reader.order(shop, order_gid), None)

    def _pages(self, what: str, fetch: Callable[[str | None], JSON | RetryLater | Rejected]) -> Iterator[JSON]:
        """Every page of one query, following ``pageInfo.endCursor``; raises SweepFailed for one not read."""
        cursor: str | None = None
        while True:
            page = self._page(what, fetch, cursor)
            yield page
            info = page.get("pageInfo") or {}
            cursor = info.get("endCursor")
            if not info.get("hasNextPage") or not cursor:
                return

    def _page(self, what: str, fetch: Callable[[str | None], JSON | RetryLater | Rejected], cursor: str | None) -> JSON:
        last = ""
        for attempt in range(max(1, self.settings.attempts)):
            now = self.now()
            if not self.breaker.allows(now):
                raise SweepFailed(f"the Admin API breaker is open after {self.breaker.failures} failures: {last}")
            self.breaker = self.breaker.probe(now)
            reply = fetch(cursor)
            self.breaker = self.breaker.record(isinstance(reply, dict), self.now())
            if isinstance(reply, dict):
                return reply
            last = reply.reason
            if isinstance(reply, Rejected):
                raise SweepFailed(f"the Admin API refused the {what} query: {reply.reason}")
            if attempt + 1 < self.settings.attempts:
                wait = reply.retry_after if reply.retry_after is not None else 2.0**attempt
                self.sleep(min(max(wait, 0.0), self.settings.max_wait))
        raise SweepFailed(f"the Admin API did not answer the {what} query: {last}")

    def _behind(self, shop: str, nodes: Sequence[JSON], report: SweepReport) -> list[str]:
        """The ids of the listed orders to read whole: those whose order, listed refunds or listed fulfilments
        the desk is behind on, and those that may have more refunds or fulfilments than were listed."""
        listed: dict[str, list[_Version]] = {}
        for node in nodes:
            report.seen += 1
            versions = _listed_versions(shop, node)
            if versions is None:
                report.unreadable += 1
            else:
                listed[str(node.get("id"))] = versions
        with self.db.unit_of_work(read_only=True) as uow:
            late = {v.order_id for v, _, _ in self._classify(uow, shop, [v for vs in listed.values() for v in vs])}
        full = {str(n.get("id")) for n in nodes
                if max(len(n.get("refunds") or []), len(n.get("fulfillments") or [])) >= self.reader.listed}
        behind = [gid for gid, vs in listed.items() if vs[0].order_id in late or gid in full]
        report.refunds_seen += sum(len(n.get("refunds") or []) for n in nodes if str(n.get("id")) not in behind)
        report.orders_read += len(behind)
        return behind

    def _classify(self, uow: UnitOfWork, shop: str, found: Sequence[_Version]
                  ) -> list[tuple[_Version, str, datetime | None]]:
        """Each version the desk is behind on, why (missing, stale, undecided) and when the desk last saw it."""
        orders = {(ShopDomain(shop), OrderId(v.order_id)) for v in found}
        states = uow.orders.get_many(orders) if orders else {}
        decided = uow.decisions.seen(
            [decision_id(shop, v.key, name) for v in found for name in self.listeners(v.event)])
        behind: list[tuple[_Version, str, datetime | None]] = []
        for v in found:
            known = v.known(states.get((ShopDomain(shop), OrderId(v.order_id))))
            if known is None:
                behind.append((v, "missing", known))
            elif known < v.updated:
                behind.append((v, "stale", known))
            elif known == v.updated and not any(
                decision_id(shop, v.key, name) in decided for name in self.listeners(v.event)
            ):
                behind.append((v, "undecided", known))
        return behind

    def _compare(self, shop: str, nodes: Sequence[JSON], report: SweepReport) -> None:
        """Append a delivery for every order (fulfilment, refund) read whole that is missing, stale or undecided."""
        found: list[_Version] = []
        for node in nodes:
            report.refunds_seen += len(node.get("refunds") or [])
            if node.get("incomplete"):
                report.incomplete.append(f"{node.get('id')}: {node['incomplete']}")
                continue
            versions = _versions(shop, node)
            if not versions:
                report.unreadable += 1
            found += versions
        if not found:
            return
        now = self.now()
        with self.db.unit_of_work() as uow:
            behind: list[RawDelivery] = []
            for v, reason, known in self._classify(uow, shop, found):
                setattr(report, reason, getattr(report, reason) + 1)
                report.found.append({"order_id": v.order_id, "resource": v.resource, "topic": v.topic,
                                     "updated_at": v.updated.isoformat(), "reason": reason,
                                     "known_at": known.isoformat() if known else None})
                behind.append(synthetic_delivery(shop, v.topic, v.resource, v.payload, v.updated, now))
            new = uow.deliveries.add(self.screen(uow, behind)) if behind else 0
            uow.commit()
        report.appended += new
        report.already_appended += len(behind) - new

    def _compare_disputes(self, shop: str, nodes: Sequence[JSON], report: SweepReport) -> None:
        """Append a ``disputes/create`` for every dispute here the desk never heard of, and a
        ``disputes/update`` for one it holds at an older version (or whose version was never decided)."""
        found: list[tuple[JSON, DisputeChanged]] = []
        for node in nodes:
            report.disputes_seen += 1
            payload = dispute_payload(node)
            event = _dispute_event(shop, payload)
            if event is None:
                report.unreadable += 1
            else:
                found.append((payload, event))
        if not found:
            return
        orders = {(ShopDomain(shop), e.order) for _, e in found if e.order is not None}
        now = self.now()
        with self.db.unit_of_work() as uow:
            states = uow.orders.get_many(orders)
            ids = {e.dispute_id: self._dispute_decisions(shop, e) for _, e in found}
            decided = uow.decisions.seen([i for found_ids in ids.values() for i in found_ids])
            behind: list[RawDelivery] = []
            for payload, e in found:
                state = states.get((ShopDomain(shop), e.order)) if e.order is not None else None
                held = state.disputes.get(e.dispute_id) if state is not None else None
                known = (held.at, held.status) if held is not None else None
                heard = not decided.isdisjoint(ids[e.dispute_id])
                if known is None and not heard:
                    reason, topic = "missing", DISPUTE_CREATED
                elif known is not None and known < (e.occurred_at, e.status):
                    reason, topic = "stale", DISPUTE_UPDATED
                elif known == (e.occurred_at, e.status) and not heard:
                    reason, topic = "undecided", DISPUTE_UPDATED
                else:
                    continue
                setattr(report, reason, getattr(report, reason) + 1)
                report.found.append({"order_id": e.order, "resource": f"dispute:{e.dispute_id}", "topic": topic,
                                     "updated_at": e.occurred_at.isoformat(), "reason": reason,
                                     "known_at": known[0].isoformat() if known else None})
                resource = f"dispute:{e.dispute_id}:{e.status}"
                behind.append(synthetic_delivery(shop, topic, resource, payload, e.occurred_at, now))
            new = uow.deliveries.add(self.screen(uow, behind)) if behind else 0
            uow.commit()
        report.appended += new
        report.already_appended += len(behind) - new

    def _dispute_decisions(self, shop: str, event: DisputeChanged) -> set[str]:
        """The ids of the decisions that say this version of the dispute was heard, through either topic:
        the key differs only in the event's name (``dispute.created`` or ``dispute.updated``)."""
        _, _, rest = event.key.partition(":")
        return {decision_id(shop, f"{name}:{rest}", playbook)
                for name in ("dispute.created", "dispute.updated") for playbook in self.listeners(name)}


@dataclass(frozen=True, slots=True)
class _Version:
    """One resource as the Admin API has it now, as the webhook delivery that would have reported it."""

    order_id: int
    resource: str  # "order", "fulfillment:<id>" or "refund:<id>"
    topic: str
    event: str  # the domain event's name, whose deciders say whether this version was heard
    key: str  # the event's key, as the pipeline will give it
    updated: datetime
    payload: JSON

    def known(self, state: OrderState | None) -> datetime | None:
        """When the desk's projection last saw this resource change (None: never)."""
        if state is None:
            return None
        if self.resource == "order":
            return state.snapshot.updated_at if state.snapshot else None
        kind, _, number = self.resource.partition(":")
        if kind == "refund":  # never changes once made: held at all is held at this version
            return self.updated if int(number) in state.refunds else None
        found = state.fulfillments.get(int(number))
        return found.at if found else None


def _versions(shop: str, node: JSON) -> list[_Version]:
    """The order, its fulfilments and its refunds as webhook deliveries, the order first (a refund waits for
    its order in the pipeline); empty when the order cannot be read."""
    payload = webhook_payload(node)
    order = _version(shop, int(payload["id"] or 0), "order", TOPIC, payload)
    if order is None:
        return []
    found = [order]
    for item in payload.get("fulfillments") or []:
        version = _version(shop, order.order_id, f"fulfillment:{item['id']}", FULFILMENT_TOPIC, item)
        if version is not None:
            found.append(version)
    for item in payload.get("refunds") or []:
        version = _version(shop, order.order_id, f"refund:{item['id']}", REFUND_TOPIC, item, "created_at")
        if version is not None:
            found.append(version)
    return found


def _listed_versions(shop: str, node: JSON) -> list[_Version] | None:
    """A listed order's versions as far as the listing tells them: the order's own (its event key as the
    normaliser makes it, ``order.updated:<id>:<updated_at>``; the listing lacks what the normaliser needs to
    make the whole event), then its listed fulfilments and refunds. None when the order cannot be read."""
    order_id, updated = int(node.get("legacyResourceId") or _number(node.get("id")) or 0), _utc(node.get("updatedAt"))
    if not order_id or updated is None:
        return None
    key = f"order.updated:{order_id}:{updated.isoformat()}"
    found = [_Version(order_id, "order", TOPIC, "order.updated", key, updated, {})]
    for item in node.get("fulfillments") or []:
        payload = _fulfilment(order_id, item)
        found += filter(None, [_version(shop, order_id, f"fulfillment:{payload['id']}", FULFILMENT_TOPIC, payload)])
    for item in node.get("refunds") or []:
        payload = refund_payload(order_id, item)
        found += filter(None, [_version(shop, order_id, f"refund:{payload['id']}", REFUND_TOPIC, payload,
                                        "created_at")])
    return found


def _version(
    shop: str, order_id: int, resource: str, topic: str, payload: JSON, stamp: str = "updated_at"
) -> _Version | None:
    """The version (dated by the payload's ``stamp``), with the event the normaliser makes of it (None when
    it cannot read it)."""
    updated = _utc(payload.get(stamp))
    if not order_id or updated is None:
        return None
    try:
        events = normalise(topic, ShopDomain(shop), payload, updated)
    except InvalidPayload:
        return None
    if not isinstance(events, tuple) or not events:
        return None
    return _Version(order_id, resource, topic, events[0].name, events[0].key, updated, payload)


def sweep_all(
    reconciler: Reconciler, shops: Sequence[str], since: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[SweepReport]:
    """One sweep per shop, in turn; a shop that fails does not stop the others."""
    reports = []
    for shop in shops:
        tick = (lambda seen, appended, s=shop: progress(s, seen, appended)) if progress else None
        reports.append(reconciler.sweep(shop, since, tick))
    return reports


def due(db: Database, shops: Sequence[str], now: datetime, period: timedelta) -> list[str]:
    """The shops whose last finished sweep started at least ``period`` ago (or never swept)."""
    with db.unit_of_work(read_only=True) as uow:
        marks: Mapping[str, datetime | None] = {shop: read_mark(uow, shop) for shop in shops}
    return [shop for shop, mark in marks.items() if mark is None or now - mark >= period]
