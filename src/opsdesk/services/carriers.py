"""Carrier integration downtime: the label API's failure rate per window; over the threshold, switch carriers.

Every outcome of a carrier action (label, address check) counts as an attempt of its carrier in the
current fixed window; a transient failure, or a final failure that is not about the customer's address,
counts as a failure. When a window has at least ``min_attempts`` and its failure rate reaches
``failure_rate``, the carrier is switched off: a ``carrier_recheck`` timer holds the switch for
``recheck_minutes`` (new labels go to the fallback meanwhile) and an incident case opens. When the timer
fires the primary gets traffic again; if it still fails, the next window trips the switch again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsdesk.config_playbooks import CarrierConnectorConfig, CarrierDowntimeConfig
from opsdesk.domain.carriers import Failure, classify, code_of
from opsdesk.domain.outbox import Delivered, SendResult
from opsdesk.domain.records import CaseRecord, OutboxAction, Timer
from opsdesk.ports import UnitOfWork
from opsdesk.services import monitors
from opsdesk.services.cases import CaseHooks, open_case

RECHECK = "carrier_recheck"


def subject(carrier: str) -> str:
    return f"carrier:{carrier}"


@dataclass(frozen=True)
class CarrierHealth:
    connector: CarrierConnectorConfig
    settings: CarrierDowntimeConfig
    hooks: Callable[[], CaseHooks]

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.settings.window_minutes)

    def current(self, uow: UnitOfWork) -> str | None:
        """The carrier new labels go to: the primary, unless it is switched off and a fallback exists."""
        primary, fallback = self.connector.primary, self.connector.fallback
        if primary and fallback and self.settings.enabled and self.is_down(uow, primary):
            return fallback
        return primary or fallback

    def is_down(self, uow: UnitOfWork, carrier: str) -> bool:
        return monitors.switched(uow, subject(carrier), RECHECK) is not None

    def on_outcome(self, uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        """Outcome hook of every carrier action: count it, and switch the carrier off when it trips."""
        carrier = str(action.payload.get("carrier") or "")
        if not carrier or not self.settings.enabled:
            return False
        failed = not isinstance(result, Delivered) and classify(code_of(_reason(result))) is not Failure.ADDRESS
        attempts_key, failures_key = f"carrier|{carrier}|attempts", f"carrier|{carrier}|failures"
        if not failed:  # a success adds to the attempts only, and cannot trip the switch: one counter
            monitors.count_many(uow, {attempts_key: 1}, now, self.window)
            return False
        counted = monitors.count_many(uow, {attempts_key: 1, failures_key: 1}, now, self.window)
        attempts, failures = counted[attempts_key], counted[failures_key]
        if attempts >= self.settings.min_attempts and failures / attempts >= self.settings.failure_rate:
            self._switch_off(uow, action, carrier, attempts, failures, now)
        return False  # counting never takes charge of a failure

    def _switch_off(
        self, uow: UnitOfWork, action: OutboxAction, carrier: str, attempts: int, failures: int, now: datetime
    ) -> None:
        if self.is_down(uow, carrier):
            return
        until = now + timedelta(minutes=self.settings.recheck_minutes)
        detail = {"playbook": "carrier-downtime", "carrier": carrier, "attempts": attempts, "failures": failures,
                  "window_minutes": self.settings.window_minutes, "until": until.isoformat(),
                  "fallback": self.connector.fallback if carrier == self.connector.primary else None}
        uow.timers.schedule([Timer(f"{RECHECK}:{carrier}", RECHECK, subject(carrier), until, detail)])
        monitors.audit(uow, now, "carrier.switched_off", subject(carrier), detail)
        stamp = int(monitors.window_start(now, self.window).timestamp())
        rate = f"{failures} of {attempts} label calls failed in {self.settings.window_minutes:g} minutes"
        switch = f"; new labels go to {detail['fallback']}" if detail["fallback"] else "; no fallback carrier"
        open_case(uow, CaseRecord(
            id=f"carrier-down-{carrier}-{stamp}", shop=action.shop, kind="incident", queue=self.settings.queue,
            title=f"Carrier {carrier} is failing", reason=rate + switch, opened_at=now,
            source=f"monitor:carrier:{carrier}", priority=self.settings.priority, detail=detail,
        ), self.hooks(), now)

    def recheck(self, uow: UnitOfWork, timer: Timer, now: datetime) -> None:
        """The ``carrier_recheck`` timer: the switch ends (it was held by this timer); the primary is tried again."""
        monitors.audit(uow, now, "carrier.switched_back", timer.subject, dict(timer.payload))


def _reason(result: SendResult) -> str:
    return "" if isinstance(result, Delivered) else result.reason
