"""Email provider blacklist: the bounce and complaint rate of customer messages; over the threshold, degrade.

Every final outcome of a customer email (an ``email`` action about an order, or marked ``customer: true``;
desk digests to people are not counted) is a message of the current window; an SMTP 5xx refusal is a bounce. A
complaint (a feedback-loop report) is recorded with ``record_complaint``. When a window has at least
``min_messages`` and its bounce or complaint rate reaches the threshold, email is degraded for
``recheck_minutes``: an ``email_recheck`` timer holds the state, an incident case opens, and the
monitors' own customer messages are throttled to ``throttle_per_hour`` per shop and, when a
``fallback_provider`` is configured, sent through it (the switch of channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import EmailHealthConfig
from opsdesk.domain.outbox import ActionStatus, Delivered, Rejected, SendResult
from opsdesk.domain.records import CaseRecord, OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.cases import CaseHooks, open_case

RECHECK = "email_recheck"
SUBJECT = "email:customer"
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Route:
    """How a customer message goes out now: through ``provider``, or not before ``wait_until``."""

    provider: str
    wait_until: datetime | None = None


@dataclass(frozen=True)
class EmailHealth:
    settings: EmailHealthConfig
    hooks: Callable[[], CaseHooks]

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.settings.window_minutes)

    def degraded(self, uow: UnitOfWork) -> bool:
        return self.settings.enabled and monitors.switched(uow, SUBJECT, RECHECK) is not None

    def route(self, uow: UnitOfWork, shop: str, now: datetime) -> Route:
        """The provider for one more customer message from ``shop`` now; throttled while degraded."""
        if not self.degraded(uow):
            return Route("smtp")
        provider = self.settings.fallback_provider or "smtp"
        sent = monitors.read(uow, [f"email|throttle|{shop}"], now, HOUR)[0]
        if sent >= self.settings.throttle_per_hour:
            return Route(provider, monitors.window_start(now, HOUR) + HOUR)
        monitors.count(uow, f"email|throttle|{shop}", now, HOUR)
        return Route(provider)

    def on_outcome(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        """Outcome hook of ``email``: count final outcomes of customer messages and bounces."""
        final = isinstance(result, Delivered) or action.status is ActionStatus.FAILED
        if not self.settings.enabled or not _to_customer(action) or not final:
            return False
        bounced = isinstance(result, Rejected) and result.reason.startswith("SMTP 5")
        self._observe(uow, action.shop, now, bounce=bounced)
        return False

    def record_complaint(self, uow: UnitOfWork, shop: str, now: datetime) -> None:
        """A recipient marked a message as spam (a feedback-loop report)."""
        if self.settings.enabled:
            self._observe(uow, shop, now, complaint=True, message=False)

    def _observe(self, uow: UnitOfWork, shop: str, now: datetime, *, bounce: bool = False,
                 complaint: bool = False, message: bool = True) -> None:
        sent = monitors.count(uow, "email|messages", now, self.window, by=int(message))
        bounces = monitors.count(uow, "email|bounces", now, self.window, by=int(bounce))
        complaints = monitors.count(uow, "email|complaints", now, self.window, by=int(complaint))
        if sent < self.settings.min_messages or self.degraded(uow):
            return
        if bounces / sent >= self.settings.bounce_rate or complaints / sent >= self.settings.complaint_rate:
            self._degrade(uow, shop, sent, bounces, complaints, now)

    def _degrade(self, uow: UnitOfWork, shop: str, sent: int, bounces: int, complaints: int,
                 now: datetime) -> None:
        until = now + timedelta(minutes=self.settings.recheck_minutes)
        detail = {"playbook": "email-health", "messages": sent, "bounces": bounces, "complaints": complaints,
                  "until": until.isoformat(),
                  "throttle_per_hour": self.settings.throttle_per_hour,
                  "fallback_provider": self.settings.fallback_provider}
        uow.timers.schedule([Timer(RECHECK, RECHECK, SUBJECT, until, detail)])
        monitors.audit(uow, now, "email.degraded", SUBJECT, detail)
        stamp = int(monitors.window_start(now, self.window).timestamp())
        channel = (f"customer messages switch to {self.settings.fallback_provider}"
                   if self.settings.fallback_provider else "no fallback provider configured")
        open_case(uow, CaseRecord(
            id=f"email-health-{stamp}", shop=shop, kind="incident", queue=self.settings.queue,
            title="Customer email is bouncing or reported as spam",
            reason=f"{bounces} bounces and {complaints} complaints in {sent} messages within "
                   f"{self.settings.window_minutes:g} minutes; throttled to {self.settings.throttle_per_hour} "
                   f"per hour; {channel}",
            opened_at=now, source="monitor:email-health", priority=self.settings.priority, detail=detail,
        ), self.hooks(), now)

    def recheck(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``email_recheck`` timer: the degraded state ends with it; the next bad window starts it again."""
        monitors.audit(uow, now, "email.restored", SUBJECT, dict(timer.payload))


def _to_customer(action: OutboxAction) -> bool:
    """A message to a shop's customer: the monitors mark theirs; a playbook's email is about an order."""
    return bool(action.payload.get("customer")) or (
        action.order_id is not None and action.payload.get("template") != "desk_digest")
