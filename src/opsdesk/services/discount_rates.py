"""The discount guard's rate detectors, on every new order: the shop's discount share of revenue against its
rolling baseline (``rate``), and each code's use: a spike, a leak to new accounts (``code_abuse``).

The windows are read and written through the batch's ``BatchState`` (``services/discount_batch.py``);
what is found goes to ``DiscountResponse`` like every other detector's finding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from opsdesk.domain.discount_windows import (
    RateWindow,
    baseline,
    code_abuse,
    rate_anomaly,
    unusual_use,
    window_start,
)
from opsdesk.domain.discounts import ZERO, DiscountRecord, GuardPolicy, OrderCheck, Violation
from opsdesk.domain.events import OrderSnapshot
from opsdesk.ports import UnitOfWork
from opsdesk.services.discount_batch import SHOP_WIDE, BatchState
from opsdesk.services.discount_incidents import code_subject, short_id
from opsdesk.services.discount_response import DiscountResponse, recorded_incident


@dataclass(frozen=True)
class RateDetectors:
    policy: GuardPolicy
    respond: DiscountResponse

    def count(
        self,
        uow: UnitOfWork,
        windows: BatchState,
        shop: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        """Add a new order to the shop's and its codes' windows, and look for a rate anomaly or abuse."""
        start = window_start(snap.created_at, self.policy.window)
        new = (
            snap.customer_created_at is not None
            and snap.created_at - snap.customer_created_at <= self.policy.new_account_age
        )
        revenue = check.gross - check.discount
        since = start - self.policy.window * self.policy.baseline_windows
        # The history first: read from ``since`` on, it holds the current window too (one read for both).
        history = windows.shares_before(shop, since, start)
        current = windows.get(shop, SHOP_WIDE, start).add(revenue, check.discount, new, snap.created_at)
        windows.put(current)
        if rate_anomaly(
            history, current.share, current.orders, self.policy, windows.baseline(shop, since, start)
        ):
            self._rate(uow, shop, snap, current, history, record, now)
        for code in snap.discount_codes:
            subject = code_subject(code)
            window = windows.get(shop, subject, start).add(revenue, check.discount, new, snap.created_at)
            windows.put(window)
            # Many uses are a spike only above the code's usual share of the orders (read only then).
            unusual = window.orders > self.policy.code_max_uses and unusual_use(
                windows.use_before(shop, subject, since, start),
                Decimal(window.orders) / current.orders,
                self.policy,
            )
            why = code_abuse(window.orders, window.new_customers, self.policy, unusual)
            if why:
                self._abuse(uow, shop, code, snap, check, window, why, now)

    def _rate(
        self,
        uow: UnitOfWork,
        shop: str,
        snap: OrderSnapshot,
        window: RateWindow,
        history: list[Decimal],
        record: DiscountRecord | None,
        now: datetime,
    ) -> None:
        iid = short_id("rate", shop, window.start.isoformat())
        if uow.discounts.find_incident(iid) is not None:
            return  # one incident per window: the case is open already
        middle = baseline(history)[0]
        expected = middle * (window.revenue + window.discount)
        incident = recorded_incident(
            uow, iid, shop, record, record.title if record else "(shop-wide)", "rate", now
        )
        incident = replace(
            incident,
            currency=snap.currency,
            first_bad_order_at=window.first_at,
            money_at_risk=max(ZERO, window.discount - expected),
            violations=(Violation.RATE_ANOMALY.value,),
        )
        self.respond.act(
            uow,
            incident,
            {Violation.RATE_ANOMALY},
            record,
            now,
            f"discount share {window.share:.1%} of revenue against a baseline of {middle:.1%}",
        )

    def _abuse(
        self,
        uow: UnitOfWork,
        shop: str,
        code: str,
        snap: OrderSnapshot,
        check: OrderCheck,
        window: RateWindow,
        why: str,
        now: datetime,
    ) -> None:
        record = next((d for d in uow.discounts.for_shop(shop) if d.matches(code)), None)
        incident = recorded_incident(
            uow, short_id("abuse", shop, code.strip().casefold()), shop, record, code, "code_abuse", now
        )
        if incident.bad_orders:
            # Every discount given through an abused code is at risk, not only a share above a maximum.
            incident = incident.with_order(snap.id, snap.created_at, replace(check, excess=check.discount))
        else:  # caught on this order: the whole window that shows the abuse is at risk
            incident = replace(
                incident,
                money_at_risk=window.discount,
                first_bad_order_at=window.first_at,
                bad_orders=(snap.id,),
                violations=(Violation.CODE_ABUSE.value,),
            )
        incident = replace(incident, currency=snap.currency)
        self.respond.act(uow, incident, {Violation.CODE_ABUSE}, record, now, f"code {code}: {why}", code=code)
