"""One order's life, scheduled at once when it arrives, with the incidents applied to it; incident starts.

Delays come from one real Olist order's tuple (approval, carrier hand-over, transit, promise); shares
that the datasets do not give (returns, disputes, risk levels, the ordinary discount code) are the
scenario's assumptions, documented in docs/explanation/simulator-calibration.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from opsdesk.simulator.scenario import Incident
from opsdesk.simulator.shaping import Order
from opsdesk.simulator.trouble import CARRIER_TEXT, last_leg, record, send
from opsdesk.simulator.truth import IncidentTruth

if TYPE_CHECKING:
    from opsdesk.simulator.store import Store

_S = timedelta(seconds=1)
_M = timedelta(minutes=1)
_H = timedelta(hours=1)
_D = timedelta(days=1)
LOCATION_ID = 24826418
SHIP_BY = timedelta(hours=48)  # the starter config's handling_hours: the promised ship-by after the order
SIMPLE_REASONS = ("SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "COLOR", "STYLE", "UNWANTED")
RETURN_REASONS = (*SIMPLE_REASONS, "DEFECTIVE", "NOT_AS_DESCRIBED", "WRONG_ITEM")
RETURN_WEIGHTS = (18, 14, 6, 10, 22, 12, 10, 8)  # an assumption: Olist and UCI have no return reasons
REFUND_CAP = Decimal(50)  # the starter playbook's cap on an automatic refund


def schedule(st: Store, o: Order, t0: datetime) -> None:
    """Schedule every delivery of an order's life."""
    _discount_incident(st, o, t0)
    _stock(st, o, t0)
    stall = _payment_stall(st, o, t0)
    r = st.render
    created = "pending" if o.gateway == "manual" or stall else "authorized"
    st.emit(t0, "orders/create", lambda: r.order(o, t0, created, None))
    st.emit(t0 + 2 * _S, "orders/risk_assessment_changed", lambda: r.risk(o, t0 + 2 * _S))
    if o.gateway != "manual":
        txn, status = st._id(), "pending" if stall else "success"
        st.emit(
            t0 + _S,
            "order_transactions/create",
            lambda: r.transaction(o, t0 + _S, txn, "authorization", status),
        )
    if o.risk == "high":
        # Assessed two seconds in, while the order is live: a person must review it, even when the
        # customer cancels it later (nobody can know that at the time).
        st.truth.person(o.id, "high fraud risk")
    if _fraud_cancel(st, o, t0) or _cancel(st, o, t0):
        return
    if o.risk == "high":
        held = t0 + st.rng.uniform(1, 10) * _M
        st.emit(
            held, "fulfillment_orders/placed_on_hold", lambda: r.hold(o, held, "high_risk_of_fraud", "risk")
        )
    paid = _paid(st, o, t0, stall)
    shipped = _ship(st, o, t0, paid)
    _disputes(st, o, t0)
    if shipped is not None:
        _returns(st, o, shipped)
    else:  # sent back to the store: nothing to return, yet its draw is made, so the store draws on as before
        st.rng.random()


def _discount_incident(st: Store, o: Order, t0: datetime) -> None:
    incident = st.active("discount_misconfigured", t0)
    if incident is None or st.rng.random() >= incident.params["uptake"]:
        return
    percent, intended = float(incident.params["percent"]), float(incident.params["intended_percent"])
    st.apply_discount(o, str(incident.params["code"]), percent)
    excess = (o.items * Decimal(str(percent - intended)) / 100).quantize(Decimal("0.01"))
    st.affect(incident, t0, o, excess, "discount_misconfigured")


def _stock(st: Store, o: Order, t0: datetime) -> None:
    """Sales take stock; a best seller oversells while an overselling incident runs."""
    incident = st.active("overselling", t0)
    hot = st.hot_product()
    if incident is not None and st.rng.random() < incident.params["share"]:
        o.lines[0].product_id, o.lines[0].variant_id = hot.id, hot.variant_id
        o.lines[0].sku, o.lines[0].price, o.lines[0].title = hot.sku, hot.price, f"Product {hot.sku}"
    for line in o.lines:
        product = st.by_variant[line.variant_id]
        product.stock -= line.quantity
        available, at = product.stock, t0 + _S
        st.emit(
            at,
            "inventory_levels/update",
            partial(st.render.inventory, at, product.item_id, LOCATION_ID, available),
        )
        if available < 0 and incident is not None and product is hot:
            st.affect(incident, t0, o, line.price, "overselling")
        elif product.stock < 5 and not (incident is not None and product is hot):
            product.stock += 300
            later = t0 + st.rng.uniform(5, 60) * _M
            st.emit(
                later,
                "inventory_levels/update",
                partial(st.render.inventory, later, product.item_id, LOCATION_ID, product.stock),
            )


def _payment_stall(st: Store, o: Order, t0: datetime) -> IncidentTruth | None:
    incident = st.active("payment_gateway_stall", t0)
    if incident is None or o.gateway != "shopify_payments" or st.rng.random() >= incident.params["share"]:
        return None
    st.affect(incident, t0, o, o.total, "payment_gateway_stall")
    return incident


def _fraud_cancel(st: Store, o: Order, t0: datetime) -> bool:
    incident = st.active("fraud_false_positive", t0)
    if incident is None or o.risk == "high" or st.rng.random() >= incident.params["share"]:
        return False
    at = t0 + st.rng.uniform(2, 20) * _M
    o.tags = "fraud-filter"
    st.emit(
        at,
        "orders/cancelled",
        lambda: st.render.order(o, at, "voided", None, cancelled_at=at.isoformat(), cancel_reason="fraud"),
    )
    st.affect(incident, at, o, o.total, "fraud_false_positive")
    return True


def _cancel(st: Store, o: Order, t0: datetime) -> bool:
    share = st.s.cancel_share if st.s.cancel_share is not None else st.cal.cancelled_share
    if st.rng.random() >= share:
        return False
    reason = st.rng.choice(("customer", "inventory", "other"))
    at = t0 + st.rng.uniform(0.2, 30) * _H
    st.emit(
        at,
        "orders/cancelled",
        lambda: st.render.order(o, at, "voided", None, cancelled_at=at.isoformat(), cancel_reason=reason),
    )
    return True


def _paid(st: Store, o: Order, t0: datetime, stall: IncidentTruth | None) -> datetime:
    life = o.state["life"]
    paid = t0 + max(timedelta(hours=life.approval_h), 30 * _S)
    if stall is not None:
        paid = max(paid, stall.end + st.rng.uniform(1, 30) * _M)
        stall.cleared[o.id] = paid  # the truth of how long the order stayed pending; draws nothing
    r, txn = st.render, st._id()
    st.emit(paid, "orders/paid", lambda: r.order(o, paid, "paid", None))
    st.emit(
        paid + _S, "order_transactions/create", lambda: r.transaction(o, paid + _S, txn, "capture", "success")
    )
    st.emit(paid + 3 * _S, "orders/updated", lambda: r.order(o, paid + 3 * _S, "paid", None))
    return paid


def _ship(st: Store, o: Order, t0: datetime, paid: datetime) -> datetime | None:
    """Hand-over to the carrier, the scans and the delivery; returns when the customer has it (None: never)."""
    life, rng, r = o.state["life"], st.rng, st.render
    ship = paid + max(timedelta(hours=life.handover_h), 10 * _M)
    backlog = st.active("warehouse_backlog", ship) or st.active("warehouse_backlog", paid)
    if backlog is not None:
        st.affect(backlog, max(ship, backlog.start), o, o.total, "warehouse_backlog")
        ship = backlog.end + timedelta(hours=backlog.params["extra_hours"] * rng.uniform(0.5, 1.0))
    if ship - t0 > SHIP_BY and t0 + SHIP_BY <= st.s.horizon:
        st.truth.person(o.id, "not shipped by its ship-by time")
    delivered = ship + max(timedelta(hours=life.transit_h), 2 * _H)
    promise = t0 + timedelta(hours=life.promise_h)
    delivered, delayed_at = _carrier_delay(st, o, ship, delivered)
    leg = last_leg(st.trouble_rng, st.s.carrier_trouble, o.id, ship, delivered)
    record(st.truth, leg.trouble, st.s.horizon)
    arrived = leg.arrived
    if (arrived is None or arrived > promise) and promise <= st.s.horizon:
        st.truth.person(o.id, "late delivery")
    if delivered > promise and promise <= st.s.horizon and delayed_at is None and rng.random() < 0.5:
        delayed_at = promise
    st.emit(ship, "fulfillments/create", lambda: r.fulfillment(o, ship, "success", "confirmed"))
    st.emit(ship + _S, "orders/fulfilled", lambda: r.order(o, ship + _S, "paid", "fulfilled"))
    scans = [
        (ship + rng.uniform(0.5, 3) * _H, "confirmed"),
        (ship + rng.uniform(3, 12) * _H, "in_transit"),
        (delivered - rng.uniform(1, 6) * _H, "out_for_delivery"),
        (delivered, "delivered"),
    ]
    door = scans[2:]  # the first attempt at the door: what a parcel in trouble does otherwise
    if delayed_at is not None:
        scans.append((delayed_at, "delayed"))
    for at, status in scans:
        event = st._id()
        if leg.trouble is not None and (at, status) in door:  # it went otherwise: only its draws are made
            st.shadow(at)
        else:
            render = partial(r.carrier_event, o, at, event, status, CARRIER_TEXT[status])
            st.emit(at, "fulfillment_events/create", render)
    if leg.trouble is None:
        st.emit(delivered + _S, "fulfillments/update", lambda: r.fulfillment(o, delivered + _S, "success", "delivered"))
    else:
        send(st, o, leg, delivered + _S)
    if arrived is None:  # back to the store
        return None
    o.state["delivered_at"] = arrived
    st.delivered(o)
    return arrived


def _carrier_delay(
    st: Store, o: Order, ship: datetime, delivered: datetime
) -> tuple[datetime, datetime | None]:
    """A shipment in transit while the carrier stalls may get a DELAYED scan and arrive days later."""
    delayed_at = None
    for incident in st.truth.incidents:
        in_transit = incident.kind == "carrier_delay" and ship < incident.end and delivered > incident.start
        if in_transit and st.rng.random() < incident.params["share"]:
            begin = max(ship, incident.start)
            delayed_at = begin + st.rng.uniform(0, 1) * (incident.end - begin)
            delivered += timedelta(days=incident.params["extra_days"])
            st.affect(incident, delayed_at, o, o.total, "carrier_delay")
    return delivered, delayed_at


def _returns(st: Store, o: Order, delivered: datetime) -> None:
    if st.rng.random() < st.s.returns_share:
        request_return(st, o, delivered + st.rng.uniform(0.5, 8) * _D)


def request_return(st: Store, o: Order, at: datetime, approve: timedelta | None = None) -> None:
    """A return request for the order's first line; a third (or all, given ``approve``) are approved by the
    merchant in Shopify, which needs a return label, and refunded there a few days later."""
    rng, r = st.rng, st.render
    line = o.lines[0]
    reason = rng.choices(RETURN_REASONS, RETURN_WEIGHTS)[0]
    return_id = st._id()
    o.state["returned"] = True
    st.emit(at, "returns/request", lambda: r.return_request(o, at, return_id, line, reason))
    amount = line.price - line.discount
    if at <= st.s.horizon:
        if reason in SIMPLE_REASONS and amount <= REFUND_CAP:
            st.truth.routine_decisions += 1
        else:
            st.truth.person(o.id, f"return: {reason.lower()}")
    if approve is None and rng.random() >= 0.33:
        return
    approved = at + (approve if approve is not None else rng.uniform(2, 24) * _H)
    refunded = approved + rng.uniform(1, 4) * _D
    outage = st.active("label_api_outage", approved)
    if outage is not None:  # the label is bought on approval
        st.affect(outage, approved, o, amount, "label_api_outage")
    st.emit(
        approved,
        "returns/approve",
        lambda: r.return_request(o, approved, return_id, line, reason, "returns/approve"),
    )
    refund = st._id()
    st.emit(refunded, "refunds/create", lambda: r.refund(o, refunded, refund, amount, "Return", return_id))


def _disputes(st: Store, o: Order, t0: datetime) -> None:
    if st.rng.random() >= st.s.disputes_share:
        return
    at, dispute = t0 + st.rng.uniform(2, 20) * _D, st._id()
    reason = st.rng.choice(("fraudulent", "product_not_received", "product_unacceptable", "unrecognized"))
    st.emit(at, "disputes/create", lambda: st.render.dispute(o, at, dispute, reason))
    if at <= st.s.horizon:
        st.truth.person(o.id, "dispute")


def start_incident(st: Store, incident: Incident, truth: IncidentTruth) -> None:
    """What happens in the store the moment an incident begins."""
    at = truth.start
    if incident.kind == "discount_misconfigured":
        discount = st._id()
        # The discount exists at Shopify too: the stand-in answers the terms query and the pause for it.
        truth.params["discount_gid"] = f"gid://shopify/DiscountCodeNode/{discount}"
        st.emit(
            at,
            "discounts/create",
            lambda: st.render.discount(at, discount, str(truth.params["code"]), "ACTIVE"),
        )
    elif incident.kind == "overselling":
        hot = st.hot_product()
        hot.stock = stock = int(truth.params["stock"])
        st.emit(
            at, "inventory_levels/update", lambda: st.render.inventory(at, hot.item_id, LOCATION_ID, stock)
        )
    elif incident.kind == "label_api_outage":
        candidates = st.candidates(at)
        for order in st.rng.sample(candidates, min(int(truth.params["returns"]), len(candidates))):
            request_return(
                st, order, at + st.rng.uniform(0, 0.6) * (truth.end - at), st.rng.uniform(2, 20) * _M
            )
