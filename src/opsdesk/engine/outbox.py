"""The outbox sender: claim due actions under a lease, send them, record their outcomes.

A batch is claimed in one transaction (each action leased to this worker), sent one action after
another outside any transaction, and its outcomes are then recorded together in one more transaction:
each action's new state, its outcome hook, and the case for a final failure. That saves a transaction
(on SQLite with ``synchronous=FULL``, a WAL sync) for every action but one of a batch. The exception is an
action whose provider cannot recognise it sent again (email: the connector says ``recognises_repeats = False``):
its outcome is recorded in a transaction of its own as soon as it is sent, before the next action goes
(below). What stays per action:

- One action's failing write (its hook raised, say) does not lose the others' outcomes: the transaction
  is rolled back and written again without that action, which keeps its lease and is sent again, with
  the same idempotency key, when the lease ends (the first such error is raised once the others are
  committed). An outcome the database refuses for its data (a value too long for its column) would be
  refused again: its action fails, with a case in the automation queue (ADR 0030). A database that cannot
  answer loses the batch's outcomes, as a crash would (below).
- An action whose lease ran out (another worker claimed it) is skipped: its outcome and hook are not
  written. Outcomes are not held longer than half a lease: once half the lease has passed, what has been
  sent is written before the next send (a slow provider, timeouts).
- Crash semantics: a worker that dies after a provider answered but before the outcome's commit leaves the
  action's lease to expire, and the next claim sends it again with the same idempotency key. For the
  providers that recognise the key (Shopify's and the carriers' ``Idempotency-Key``) no effect happens twice,
  so their outcomes wait for the batch's commit: a crash leaves every one sent since the last commit to be sent
  again, harmlessly. A relay delivers a re-sent email again (its Message-ID, derived from the key, only lets
  mail clients that collapse duplicates show it once), so each email's outcome is committed before the next
  action is sent: a crash re-sends at most the one email in flight (sent, not yet recorded), never the
  emails the batch sent before it. That costs an email a transaction; the SMTP connection is still kept for
  the batch. A failing write of an email's outcome (its hook raised, the database) stops the batch there, as a
  crash would: the actions not yet recorded are sent again when their leases end.

A decision's actions go out in their order (ADR 0042): the claim takes an action only when no earlier one of its
decision (``position``) is pending, so a refund's confirmation email waits for the refund, across its retries and a
crash (the refund's lease ends, it is sent again, then the email). An action tried again later takes the later ones
along (due no sooner than it); one that fails for good fails the later ones with it, in its outcome's transaction,
named in its one case (``engine/outcomes.py``). One whose reason passed since it was decided (a "running late" email
for an order shipped meanwhile) is withdrawn by the check of its kind in ``lapses``: no send, hook or case (ADR 0068).

A shop whose credentials the provider refuses (``CredentialsRefused``: Shopify's 401) does not burn its actions
through their retries: they are held, one goes as a probe on a back-off, and one case opens (ADR 0067,
``engine/credentials.py``).

Connectors that can reuse a connection for a batch (SMTP) say so with ``batch()``: the sender opens it
around a batch's sends and closes it before writing the batch's outcomes (an email's own are written with it open).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

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
from opsdesk.engine.credentials import CredentialsGate
from opsdesk.engine.outcomes import Outcome, OutcomeWriter, action_fields, withdrawn
from opsdesk.engine.polling import keep_polling
from opsdesk.ports import Clock, Connector, Database, UnitOfWork
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.services.cases import CaseHooks

log = logging.getLogger("opsdesk.outbox")

#: Asked before an action of its kind is sent, on the desk's state now: why it may not go out ("" when it may).
#: A refusal fails the action as a provider's rejection does (a refund paid since it was decided: ADR 0041).
SendCheck = Callable[[UnitOfWork, OutboxAction], str]


@runtime_checkable
class BatchingConnector(Protocol):
    """A connector that can keep what one call sets up (a connection, a login) for the calls of a batch."""

    def batch(self) -> AbstractContextManager[None]:
        """Sends made inside share what the first one set up; it is released on leaving."""


@runtime_checkable
class RepeatAwareConnector(Protocol):
    """A connector that says whether its provider recognises an action sent again and applies it once."""

    #: False when a repeat takes effect again (an SMTP relay delivers the message again); a connector that does
    #: not say is taken to send an idempotency key its provider honours (Shopify, the carriers).
    recognises_repeats: bool


def recognises_repeats(connector: object) -> bool:
    """Whether an action sent again through ``connector`` takes effect once (True unless it says otherwise)."""
    return not isinstance(connector, RepeatAwareConnector) or connector.recognises_repeats


@dataclass(slots=True)
class SenderStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    #: later actions of a decision not sent because an earlier one failed for good (ADR 0042)
    cancelled: int = 0
    withdrawn: int = 0  # not sent: what they were for passed before they could go (ADR 0068)


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
        checks: Mapping[str, SendCheck] | None = None,
        incidents_queue: str = "incidents",
        lapses: Mapping[str, SendCheck] | None = None,
    ) -> None:
        """``incidents_queue``: where the case of a shop whose credentials are refused goes (ADR 0067); ``lapses``:
        asked by action kind before a send, why what it was for has passed (it is withdrawn, ADR 0068)."""
        self._db = db
        self._connectors = connectors
        self._clock = clock
        self._worker = worker
        self._policy = policy or RetryPolicy()
        self._lease = lease
        self._breakers = {name: breaker or Breaker() for name in connectors}
        self._rng = rng or random.Random()
        self._on_outcome = on_outcome
        self._checks, self._lapses = dict(checks or {}), dict(lapses or {})
        self.stats = SenderStats()
        self._gate = CredentialsGate(db, case_hooks or CaseHooks(), incidents_queue)
        self._writer = OutcomeWriter(
            db, worker=worker, stats=self.stats, case_hooks=case_hooks or CaseHooks(),
            outcome_hooks=dict(outcome_hooks or {}), notify=self._notify,
        )

    def breaker(self, provider: str) -> Breaker:
        return self._breakers[provider]

    def run_once(self, limit: int = 50, *, seen_due: bool = False) -> int:
        """Claim and send one batch of due actions; returns how many were claimed.

        ``seen_due``: the caller has just seen an action due, so the idle check (a read of its own) is
        skipped; were it wrong, the claim would only take the write lock for nothing."""
        now = self._clock.now()
        if not seen_due:
            with self._db.unit_of_work(read_only=True) as uow:  # an idle poll must not take the write lock
                due = uow.outbox.next_due_at()
            if due is None or due > now:
                return 0
        with self._db.unit_of_work() as uow:
            claimed = uow.outbox.claim_due(now, limit, now + self._lease, self._worker)
            self._gate.begin(uow, claimed)
            uow.commit()
        write_by = now + self._lease / 2
        outcomes: list[Outcome] = []
        deferred: list[OutboxAction] = []  # held back by an open circuit
        providers = {action.provider for action in claimed}
        once = {p for p in providers if not recognises_repeats(self._connectors.get(p))}
        with self._batches(providers):
            for action in claimed:
                if outcomes and self._clock.now() >= write_by:  # half the lease gone: keep what we have
                    self._writer.write(outcomes, [])
                    outcomes, write_by = [], self._clock.now() + self._lease / 2
                sent = self._send(action)
                if not isinstance(sent, Outcome):
                    deferred.append(sent)
                elif action.provider in once:  # sent again after a crash, it would take effect again
                    self._writer.write([sent], [])
                else:
                    outcomes.append(sent)
        self._writer.write(outcomes, deferred)
        return len(claimed)

    def run(
        self, stop: threading.Event, poll: float = 0.5, on_error: Callable[[Exception], None] | None = None
    ) -> None:
        """Send until ``stop`` is set; a database outage is waited out, never fatal."""
        keep_polling(lambda: self.run_once() > 0, stop, poll, on_error)

    @contextmanager
    def _batches(self, providers: set[str]) -> Iterator[None]:
        """A batch of their own for the connectors that keep a connection for one (SMTP)."""
        with ExitStack() as stack:
            for provider in sorted(providers):
                connector: object = self._connectors.get(provider)
                if isinstance(connector, BatchingConnector):
                    stack.enter_context(connector.batch())
            yield

    def _send(self, action: OutboxAction) -> Outcome | OutboxAction:
        """Send one action: its outcome to record, or (an open circuit, refused credentials) the action deferred."""
        now = self._clock.now()
        held = self._gate.held(action, now)
        if held is not None:
            return self._deferred(held)
        if lapsed := self._ask(self._lapses, action):
            self.stats.withdrawn += 1
            self._notify("withdrawn")
            return withdrawn(action, lapsed, now)
        breaker = self._breakers.get(action.provider, Breaker()).probe(now)
        self._breakers[action.provider] = breaker
        if not breaker.allows(now):
            reopen = (breaker.opened_at or now) + breaker.cool_down
            return self._deferred(replace(action, next_attempt_at=max(reopen, now)))
        result = self._call(action)
        done = self._clock.now()
        self._breakers[action.provider] = breaker.record(not isinstance(result, RetryLater), done)
        held = self._gate.answered(action, result, done)
        return self._outcome(action, result, done) if held is None else self._deferred(held)

    def _deferred(self, action: OutboxAction) -> OutboxAction:
        self.stats.deferred += 1
        self._notify("deferred")
        return action

    def _notify(self, outcome: str) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _ask(self, checks: Mapping[str, SendCheck], action: OutboxAction) -> str:
        """What the check of the action's kind among ``checks`` says of it on the desk's state now ("" for none)."""
        check = checks.get(action.kind)
        if check is None:
            return ""
        with self._db.unit_of_work(read_only=True) as uow:
            return check(uow, action)

    def _call(self, action: OutboxAction) -> SendResult:
        connector = self._connectors.get(action.provider)
        if connector is None:
            return Rejected(f"no connector for provider {action.provider!r}")
        if refused := self._ask(self._checks, action):
            return Rejected(f"not sent: {refused}")
        try:
            return connector.send(action)
        except Exception as exc:
            log.exception("connector %s raised", action.provider, extra=action_fields(action))
            return RetryLater(f"connector raised {type(exc).__name__}: {exc}")

    def _outcome(self, action: OutboxAction, result: SendResult, now: datetime) -> Outcome:
        """The action after this attempt (counted in the stats now, written with its batch)."""
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
        return Outcome(updated, result, now, case_reason)
