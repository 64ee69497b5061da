"""The fulfilment-side playbooks wired together: their pipeline watchers, timer handlers and outcome hooks.

The composition root calls ``fulfilment_playbooks`` once and plugs the three parts into the pipeline,
the timer sweep and the outbox sender. See docs/playbooks/ for what each one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import CarrierConnectorConfig, MonitorsConfig
from opsdesk.domain.carriers import RETURN_LABEL, VERIFY_ADDRESS
from opsdesk.domain.orders import OrderState
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.services import buyer_waits, carriers, followups, labels, messaging_health, stuck
from opsdesk.services.address_checks import REPLY
from opsdesk.services.addresses import AddressValidation
from opsdesk.services.cases import CaseHooks
from opsdesk.services.deadlines import Handler
from opsdesk.services.monitors import chain
from opsdesk.services.pipeline import Watcher


@dataclass(frozen=True)
class FulfilmentPlaybooks:
    labels: labels.ReturnLabels
    followups: followups.DelayedFulfilment
    stuck: stuck.StuckOrders
    addresses: AddressValidation
    carriers: carriers.CarrierHealth
    email: messaging_health.EmailHealth
    buyer: buyer_waits.BuyerWaits

    @property
    def watchers(self) -> tuple[Watcher, ...]:
        return (self.labels.watch, self.followups.watch, self.stuck.watch, self.addresses.watch, self.buyer.watch)

    @property
    def windows(self) -> tuple[timedelta, ...]:
        """The lengths of the windows their counters are kept in (the usage retention sweep keeps them)."""
        return (self.carriers.window, self.email.window, messaging_health.HOUR, self.followups.per_customer_window)

    @property
    def timer_handlers(self) -> dict[str, Handler]:
        return {
            labels.DEADLINE: self.labels.deadline,
            followups.FOLLOWUP: self.followups.fire,
            stuck.STUCK: self.stuck.fire,
            REPLY: self.addresses.reply_due,
            carriers.RECHECK: self.carriers.recheck,
            messaging_health.RECHECK: self.email.recheck,
            buyer_waits.BUYER_ACTION: self.buyer.fire,
        }

    @property
    def outcome_hooks(self) -> Mapping[str, OutcomeHook]:
        return {
            RETURN_LABEL: chain(self.carriers.on_outcome, self.labels.on_outcome),
            VERIFY_ADDRESS: chain(self.carriers.on_outcome, self.addresses.on_outcome),
            "release_hold": self.addresses.on_release,
            "email": self.email.on_outcome,
        }


def fulfilment_playbooks(
    monitors: MonitorsConfig,
    carrier: CarrierConnectorConfig,
    hooks: Callable[[], CaseHooks],
    shop_zone: Callable[[str], str] = lambda _shop: "UTC",
    promise: Callable[[OrderState], datetime | None] | None = None,
) -> FulfilmentPlaybooks:
    """``promise``: an order's ship-by from the carrier pickup schedules, when they give one."""
    health = carriers.CarrierHealth(carrier, monitors.carrier_downtime, hooks)
    email = messaging_health.EmailHealth(monitors.email_health, hooks)
    return FulfilmentPlaybooks(
        labels=labels.ReturnLabels(monitors.return_labels, health, hooks),
        followups=followups.DelayedFulfilment(monitors.delayed_fulfilment, email, hooks, shop_zone, promise),
        stuck=stuck.StuckOrders(monitors.stuck_orders, hooks),
        addresses=AddressValidation(monitors.address_validation, health, hooks),
        carriers=health,
        email=email,
        buyer=buyer_waits.BuyerWaits(monitors.buyer_action, hooks),
    )
