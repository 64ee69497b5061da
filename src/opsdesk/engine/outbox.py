"""The outbox sender: claim due actions under a lease, send them, record the outcome.

Sending happens outside any transaction; the outcome is written in its own. A worker that dies
between the provider's answer and our commit leaves the lease to expire; the next claim sends the
same action again with the same idempotency key, and the provider recognises it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from opsdesk.domain.outbox import (
    ActionStatus,
    Breaker,
    Delivered,
    Rejected,
    RetryLater,
    RetryPolicy,
    SendResult,
)
from opsdesk.domain.records import OutboxAction
from opsdesk.engine.polling import keep_polling
from opsdesk.ports import Clock, Connector, Database, UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.effects import case_for_failed_action

log = logging.getLogger("opsdesk.outbox")

#: Called with every recorded outcome of an action of its kind, in the transaction that saves it
#: (``hook(uow, action, result, now)``; ``action.status`` says whether it is final). Returning True for
#: a final failure means the hook took charge of it (a fallback, a case of its own): no automation case.
OutcomeHook = Callable[[UnitOfWork, OutboxAction, SendResult, datetime], bool]


@dataclass(slots=True)
class SenderStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0


class OutboxSender:
    def __init__(
        self,
        db: Database,
        connectors: Mapping[str, Connector],
        clock: Clock,
        *,
        worker: str,
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(seconds=60),
        breaker: Breaker | None = None,
        rng: random.Random | None = None,
        on_outcome: Callable[[str], None] | None = None,
        case_hooks: CaseHooks | None = None,
        outcome_hooks: Mapping[str, OutcomeHook] | None = None,
    ) -> None:
        self._db = db
        self._connectors = connectors
        self._clock = clock
        self._worker = worker
        self._policy = policy or RetryPolicy()
        self._lease = lease
        self._breakers = {name: breaker or Breaker() for name in connectors}
        self._rng = rng or random.Random()
        self._on_outcome = on_outcome
        self._case_hooks = case_hooks or CaseHooks()
        self._outcome_hooks = dict(outcome_hooks or {})
        self.stats = SenderStats()

    def breaker(self, provider: str) -> Breaker:
        return self._breakers[provider]

    def run_once(self, limit: int = 50) -> int:
        """Claim and send one batch of due actions; returns how many were claimed."""
        now = self._clock.now()
        with self._db.unit_of_work(read_only=True) as uow:  # an idle poll must not take the write lock
            due = uow.outbox.next_due_at()
        if due is None or due > now:
            return 0
        with self._db.unit_of_work() as uow:
            claimed = uow.outbox.claim_due(now, limit, now + self._lease, self._worker)
            uow.commit()
        deferred = [d for action in claimed if (d := self._send(action)) is not None]
        if deferred:  # one transaction for every action held back by an open circuit
            with self._db.unit_of_work() as uow:
                for action in deferred:
                    uow.outbox.save(action, worker=self._worker)
                uow.commit()
        return len(claimed)

    def run(
        self, stop: threading.Event, poll: float = 0.5, on_error: Callable[[Exception], None] | None = None
    ) -> None:
        """Send until ``stop`` is set; a database outage is waited out, never fatal."""
        keep_polling(lambda: self.run_once() > 0, stop, poll, on_error)

    def _send(self, action: OutboxAction) -> OutboxAction | None:
        """Send one action and record the outcome; an open circuit returns it deferred instead."""
        now = self._clock.now()
        breaker = self._breakers.get(action.provider, Breaker()).probe(now)
        self._breakers[action.provider] = breaker
        if not breaker.allows(now):
            self.stats.deferred += 1
            self._notify("deferred")
            reopen = (breaker.opened_at or now) + breaker.cool_down
            return replace(action, next_attempt_at=max(reopen, now))
        result = self._call(action)
        done = self._clock.now()
        self._breakers[action.provider] = breaker.record(not isinstance(result, RetryLater), done)
        self._record(action, result, done)
        return None

    def _notify(self, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _call(self, action: OutboxAction) -> SendResult:
        connector = self._connectors.get(action.provider)
        if connector is None:
            return Rejected(f"no connector for provider {action.provider!r}")
        try:
            return connector.send(action)
        except Exception as exc:
            log.exception("connector %s raised", action.provider)
            return RetryLater(f"connector raised {type(exc).__name__}: {exc}")

    def _record(self, action: OutboxAction, result: SendResult, now: datetime) -> None:
        attempts = action.attempts + 1
        entry: dict[str, Any] = {"at": now.isoformat(), "attempt": attempts}
        case_reason = ""
        match result:
            case Delivered(response=response):
                updated = replace(
                    action,
                    status=ActionStatus.SENT,
                    attempts=attempts,
                    history=(*action.history, {**entry, "outcome": "sent", "response": response}),
                )
                self.stats.sent += 1
                self._notify("sent")
            case RetryLater(reason=reason, retry_after=after) if not self._policy.exhausted(attempts):
                delay = self._policy.delay(attempts, after, self._rng)
                updated = replace(
                    action,
                    attempts=attempts,
                    last_error=reason,
                    next_attempt_at=now + timedelta(seconds=delay),
                    history=(
                        *action.history,
                        {**entry, "outcome": "retry", "error": reason, "retry_in": round(delay, 3)},
                    ),
                )
                self.stats.retried += 1
                self._notify("retried")
            case RetryLater(reason=reason) | Rejected(reason=reason):
                case_reason = (
                    f"gave up after {attempts} attempts: {reason}"
                    if isinstance(result, RetryLater)
                    else f"rejected by {action.provider}: {reason}"
                )
                updated = replace(
                    action,
                    status=ActionStatus.FAILED,
                    attempts=attempts,
                    last_error=reason,
                    history=(*action.history, {**entry, "outcome": "failed", "error": reason}),
                )
                self.stats.failed += 1
                self._notify("failed")
        with self._db.unit_of_work() as uow:
            if not uow.outbox.save(updated, worker=self._worker):
                return  # the lease ran out and another worker owns the action now
            hook = self._outcome_hooks.get(updated.kind)
            if hook is not None and hook(uow, updated, result, now):
                case_reason = ""
            if case_reason:  # open_case gives it an owner and an SLA, and audits it
                open_case(uow, case_for_failed_action(updated, case_reason, now), self._case_hooks, now)
            uow.commit()
