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

Returns come with their orders too. A lost ``returns/request`` is a customer's return the desk never sees: no
refund inside the caps, no reship, no case. The listing cannot carry an order's returns under Shopify's cost
limit, so it carries the order's ``returnStatus`` (free), and an order with returns is read whole, its returns
with it (``Order.returns``). Each return Shopify has as ``REQUESTED`` or ``OPEN`` that the projection does not
hold, or holds while its ``return.requested`` was never decided, gets a synthetic ``returns/request`` after the
order's own delivery, its lines as the webhook gives them. Its event key (``return.requested:<id>``) has no
time, so a real ``returns/request`` arriving after the sweep is decided once, not twice. A return whose status in
Shopify is not the projection's gets the change that leads there (``returns/approve``, after its request;
``decline``, ``cancel``, ``close``, ``reopen``: ``reconcile_returns``); one declined, cancelled or closed never
gets its request, since deciding it as a request now could refund a return a person declined.

Carrier events come with each page too (ADR 0040): Shopify sends a ``fulfillment_events/create`` and a
``fulfillments/update`` for each, and the carrier-delays playbook decides the first. The carrier events of every
fulfilment on the page changed in the window at a carrier's status are read (``Fulfillment.events``, a query each),
and each one no listener decided gets a synthetic ``fulfillment_events/create`` after the page's orders, with the
webhook's event key (``fulfillment_event.created:<id>``): a real one before or after the sweep is decided once.
A scan the desk held before those reads that a fulfilment's complete list lacks was deleted: it gets the lost
``fulfillment_events/delete`` (ADR 0065).

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

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.orders import OrderState
from opsdesk.domain.outbox import Breaker, Rejected, RetryLater
from opsdesk.ports import Database
from opsdesk.services.intake import Screen, as_received
from opsdesk.services.reconcile_disputes import DisputeComparison, dispute_payload
from opsdesk.services.reconcile_mark import MARK_PREFIX, due, read_mark, write_mark
from opsdesk.services.reconcile_orders import OrderComparison
from opsdesk.services.reconcile_pages import read_page, read_pages
from opsdesk.services.reconcile_payloads import (
    RECONCILE,
    connection_nodes,
    refund_payload,
    synthetic_delivery,
    webhook_payload,
)
from opsdesk.services.reconcile_report import SweepFailed, SweepRefused, SweepReport, SweepSettings
from opsdesk.services.reconcile_scans import carrier_event_versions, scanned, withdrawn_versions
from opsdesk.services.reconcile_versions import Version

# The sweep's public face: the names the rest of opsdesk (and its tests) import from here, wherever they live.
__all__ = ["MARK_PREFIX", "RECONCILE", "OrderReader", "Reconciler", "SweepFailed", "SweepReport", "SweepSettings",
           "dispute_payload", "due", "read_mark", "refund_payload", "sweep_all", "synthetic_delivery",
           "webhook_payload", "write_mark"]

JSON = dict[str, Any]


class OrderReader(Protocol):
    """What the sweep needs from the Admin API connector (``ShopifyAdmin.orders_updated``, ``order`` and
    ``disputes_initiated``)."""

    #: How many of an order's refunds and fulfilments a listed order carries: one with that many may have more.
    listed: int

    def orders_updated(
        self, shop: str, since: datetime, after: str | None, first: int
    ) -> JSON | RetryLater | Rejected:
        """A page of the orders changed since ``since``: each with its id, ``updatedAt``, ``returnStatus`` and its
        first ``listed`` refunds (``legacyResourceId``, ``createdAt``) and fulfilments (with ``updatedAt``)."""

    def order(self, shop: str, order_gid: str) -> JSON | RetryLater | Rejected:
        """The whole order (its returns with it), every list read to its end, or with ``incomplete`` saying why
        not."""

    def disputes_initiated(
        self, shop: str, since: datetime, after: str | None, first: int
    ) -> JSON | RetryLater | Rejected: ...

    def fulfillment_events(self, shop: str, fulfillment_gid: str) -> JSON | RetryLater | Rejected:
        """Every carrier event of a fulfilment (``{"nodes"}``, oldest first; none for one that is gone), and
        ``complete`` true when those are all it has (found, and read to the last page)."""

    def paced(self, shop: str) -> float:
        """Seconds the reads have waited so far, before sending, for the shop's rate limit (its cost bucket)."""



class Reconciler:
    """Sweeps shops through one reader; keeps one circuit breaker across sweeps, like the outbox."""

    def __init__(
        self,
        db: Database,
        reader: OrderReader,
        now: Callable[[], datetime],
        settings: SweepSettings | None = None,
        *,
        sleep: Callable[[float], None],
        stopped: Callable[[], bool] = lambda: False,
        breaker: Breaker | None = None,
        listeners: Callable[[str], Sequence[str]] = lambda _event: ("-",),
        screen: Screen = as_received,
    ) -> None:
        self.db = db
        self.reader = reader
        self.now = now
        self.settings = settings or SweepSettings()
        #: Waits between a read's retries; the worker's wakes up when it is stopped (``background.Background``).
        self.sleep = sleep
        #: True once the worker is stopping: the sweep then ends before its next read, the mark kept.
        self.stopped = stopped
        self.breaker = breaker or Breaker()
        #: The playbooks that decide an event ("-" when none does): a decision by any of them for the
        #: event's key says that version was heard.
        self.listeners = listeners
        #: Sees what a sweep appends just before it is stored (ADR 0021: erased customers' data is erased).
        self.screen = screen

    def sweep(
        self, shop: str, since: datetime | None = None, progress: Callable[[SweepReport], None] | None = None
    ) -> SweepReport:
        """One sweep of ``shop``; ``since`` overrides the mark. Never raises for Admin API failures.

        ``progress`` sees the report after each page of orders.
        """
        started = self.now()
        if since is None:
            with self.db.unit_of_work(read_only=True) as uow:
                mark = read_mark(uow, shop)
            since = mark - self.settings.overlap if mark else started - self.settings.initial_lookback
        report = SweepReport(shop=shop, since=since, started_at=started)
        size, window = self.settings.page_size, since - self.settings.dispute_window
        orders = OrderComparison(self.db, self.listeners, self.screen, self.now)
        paced = self.reader.paced(shop)  # the reader's total so far: this sweep's waits are what it adds
        try:
            listing = read_pages(self, "orders", lambda after: self.reader.orders_updated(shop, since, after, size))
            for page in listing:
                # The listing is cheap; only the orders the desk is behind on are read whole, one a query,
                # outside any transaction.
                nodes = connection_nodes(page)
                behind = orders.behind(shop, nodes, report, self.reader.listed)
                whole = [self._read_whole(shop, gid) for gid in behind]
                orders.compare(shop, whole, report)
                orders.append(shop, self._carrier_events(shop, since, nodes, whole, report), report)
                report.pages += 1
                report.paced_seconds = round(self.reader.paced(shop) - paced, 3)
                if progress is not None:
                    progress(report)
            # After the orders: a dispute on an order that was lost too is then appended after its order,
            # so the pipeline folds the order first and the dispute does not wait for it.
            if self.settings.disputes:
                disputes = DisputeComparison(self.db, self.listeners, self.screen, self.now)
                read = self.reader.disputes_initiated
                for page in read_pages(self, "disputes", lambda after: read(shop, window, after, size)):
                    disputes.compare(shop, connection_nodes(page), report)
                    report.dispute_pages += 1
        except SweepFailed as exc:
            report.error = str(exc)
            report.credentials_refused = isinstance(exc, SweepRefused) and exc.credentials
            return report
        finally:
            report.paced_seconds = round(self.reader.paced(shop) - paced, 3)
        with self.db.unit_of_work() as uow:
            report.mark = write_mark(uow, shop, started)
            uow.commit()
        report.ok = True
        return report

    def _carrier_events(self, shop: str, since: datetime, listed: Sequence[JSON], whole: Sequence[JSON],
                        report: SweepReport) -> list[Version]:
        """The carrier events of the page's fulfilments changed since ``since`` at a carrier's status (the whole
        order's when it was read, else the listing's), one read per fulfilment; appended after the orders, so the
        pipeline folds a lost order and fulfilment before their events. A scan the desk held before the reads, of a
        fulfilment whose events were all read, that Shopify no longer has was deleted: its lost
        ``fulfillment_events/delete`` is appended too (``reconcile_scans.withdrawn_versions``, ADR 0065)."""
        read = {str(n.get("id")): n for n in whole if not n.get("incomplete")}
        targets = [found for node in listed for found in scanned(read.get(str(node.get("id")), node), since)]
        held = self._held(shop, {order_id for order_id, _ in targets})  # before the reads: never a newer scan
        listed_at = self.now()
        found: list[Version] = []
        for order_id, fulfilment in targets:
            gid = str(fulfilment.get("id"))
            reply = read_page(self, f"events of {gid}", functools.partial(self._events, shop, gid), None)
            events = connection_nodes(reply)
            report.carrier_events_seen += len(events)
            found += carrier_event_versions(shop, order_id, fulfilment, events)
            if reply.get("complete") is True:
                found += withdrawn_versions(shop, order_id, fulfilment, events, held.get(order_id), listed_at)
        return found

    def _held(self, shop: str, order_ids: set[int]) -> dict[int, OrderState]:
        """The desk's projections of these orders, as they are now."""
        if not order_ids:
            return {}
        with self.db.unit_of_work(read_only=True) as uow:
            states = uow.orders.get_many({(ShopDomain(shop), OrderId(n)) for n in order_ids})
        return {int(key[1]): state for key, state in states.items()}

    def _events(self, shop: str, fulfillment_gid: str, _cursor: str | None) -> JSON | RetryLater | Rejected:
        return self.reader.fulfillment_events(shop, fulfillment_gid)

    def _read_whole(self, shop: str, order_gid: str) -> JSON:
        """One order read whole, with the retries and the breaker of a page; raises SweepFailed if not read."""
        return read_page(self, f"order {order_gid}", lambda _cursor: self.reader.order(shop, order_gid), None)


def sweep_all(
    reconciler: Reconciler, shops: Sequence[str], since: datetime | None = None,
    progress: Callable[[SweepReport], None] | None = None,
) -> list[SweepReport]:
    """One sweep per shop, in turn; a shop that fails does not stop the others."""
    return [reconciler.sweep(shop, since, progress) for shop in shops]

