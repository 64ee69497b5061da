"""The outbox's outcomes: how a batch's sent actions are written, with their hooks and failure cases.

The sender (``engine.outbox``) sends a batch's actions and hands their outcomes here, to be written together
in one transaction, or an email's on its own before the next send (its module docstring says why, and what stays
per action).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from opsdesk.domain.action_order import cancel_reason, cancelled, cancelled_news, naming_cancelled
from opsdesk.domain.errors import Unavailable
from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.outbox import ActionStatus, SendResult, Withdrawn
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Database, UnitOfWork
from opsdesk.ports.connectors import OutcomeHook
from opsdesk.services.cases import CaseHooks, add_signal, open_case
from opsdesk.services.effects import case_for_failed_action
from opsdesk.services.refusals import REFUSALS

log = logging.getLogger("opsdesk.outbox")

class _Stats(Protocol):
    failed: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One sent action's new state, waiting to be written with the rest of its batch."""

    action: OutboxAction
    result: SendResult | Withdrawn
    at: datetime
    case_reason: str  # the automation case to open, unless a hook takes charge; "" for none


class OutcomeWriter:
    """Writes a batch's outcomes for one worker: each action's new state, its hook, the case for a final failure."""

    def __init__(
        self,
        db: Database,
        *,
        worker: str,
        stats: _Stats,
        case_hooks: CaseHooks,
        outcome_hooks: Mapping[str, OutcomeHook],
        notify: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        """``notify``: told each outcome the writer decides itself (``cancelled``), once its transaction is
        committed."""
        self._db = db
        self._notify = notify
        self._worker = worker
        self.stats = stats
        self._case_hooks = case_hooks
        self._outcome_hooks = outcome_hooks

    def write(self, outcomes: Sequence[Outcome], deferred: Sequence[OutboxAction]) -> None:
        """Record a batch's outcomes (then its deferred actions) in one transaction, in the order sent.

        An outcome whose write raises is left out and the transaction written again without it (the
        others' hooks run again on the rolled-back state, so they decide as they would have); it keeps
        its lease. The first such error is raised after the commit. A database error is not one action's
        fault: it is raised at once, and the whole batch waits for its leases to end.
        """
        if not outcomes and not deferred:
            return
        todo = list(outcomes)
        errors: list[Exception] = []
        refused: list[tuple[Outcome, Exception]] = []
        while True:
            writing: int | None = None  # the outcome being written, to blame it for an error
            cancelled = 0  # counted once committed: a write done again counts them again
            try:
                with self._db.unit_of_work() as uow:
                    for index, outcome in enumerate(todo):
                        writing = index
                        cancelled += self._record(uow, outcome)
                    writing = None
                    for action in deferred:
                        if uow.outbox.save(action, worker=self._worker):
                            uow.outbox.postpone_after(action)
                    uow.commit()
                break
            except Unavailable:
                raise
            except Exception as exc:
                if writing is None:
                    raise
                outcome = todo.pop(writing)
                if isinstance(exc, REFUSALS):  # sent again, it would be refused again: for good (ADR 0030)
                    refused.append((outcome, exc))
                    continue
                log.exception(
                    "recording the outcome of action %s (%s) failed; it is sent again when its lease ends",
                    outcome.action.id,
                    outcome.action.kind,
                    extra=action_fields(outcome.action),
                )
                errors.append(exc)
        self._count_cancelled(cancelled)
        for refused_outcome, refusal in refused:
            self._fail_refused(refused_outcome, refusal)
        if errors:
            raise errors[0]

    def _fail_refused(self, outcome: Outcome, exc: Exception) -> None:
        """The database refused an outcome's write for its data: the action fails, in a case of the automation
        queue that says what the provider answered (its history) and what the database refused."""
        action, at = outcome.action, outcome.at
        reason = f"its outcome could not be recorded: {exc}"
        log.error("action %s (%s) failed: %s", action.id, action.kind, reason, extra=action_fields(action))
        failed = replace(
            action,
            status=ActionStatus.FAILED,
            last_error=reason,
            history=(
                *action.history,
                {"at": at.isoformat(), "attempt": action.attempts, "outcome": "failed", "error": reason},
            ),
        )
        self.stats.failed += 1
        later: list[OutboxAction] = []
        with self._db.unit_of_work() as uow:
            if uow.outbox.save(failed, worker=self._worker):
                later = _cancel_later(uow, failed, reason, at)
                case = naming_cancelled(
                    case_for_failed_action(failed, reason, at, _order_name(uow, failed)), later
                )
                open_case(uow, case, self._case_hooks, at)
            uow.commit()
        self._count_cancelled(len(later))

    def _count_cancelled(self, count: int) -> None:
        self.stats.cancelled += count
        for _ in range(count):
            self._notify("cancelled")

    def _record(self, uow: UnitOfWork, outcome: Outcome) -> int:
        """Write one outcome; returns how many later actions of its decision it cancelled."""
        action = outcome.action
        if not uow.outbox.save(action, worker=self._worker):
            return 0  # the lease ran out and another worker owns the action now
        # To be tried again: the later ones of its decision wait until then at least (ADR 0042).
        if action.status is ActionStatus.PENDING:
            uow.outbox.postpone_after(action)
        if isinstance(outcome.result, Withdrawn):  # nothing was attempted, nothing needs a person (ADR 0068)
            log.info("action %s (%s) withdrawn: %s", action.id, action.kind, outcome.result.reason,
                     extra=action_fields(action))
            return 0
        later = _cancel_later(uow, action, outcome.case_reason, outcome.at) if outcome.case_reason else []
        hook = self._outcome_hooks.get(action.kind)
        taken = hook(uow, action, outcome.result, outcome.at) if hook is not None else False
        # A failure no hook took charge of is a person's; so are the later actions it cancelled, whoever took
        # charge of it: named in the case the hook opened for it, else in the automation case.
        if not outcome.case_reason or (taken and not later):
            return len(later)
        if isinstance(taken, str) and taken and self._name_in(uow, taken, outcome, later):
            return len(later)
        # open_case gives it an owner and an SLA, and audits it
        case = case_for_failed_action(action, outcome.case_reason, outcome.at, _order_name(uow, action))
        open_case(uow, naming_cancelled(case, later), self._case_hooks, outcome.at)
        return len(later)

    def _name_in(
        self, uow: UnitOfWork, case_id: str, outcome: Outcome, later: Sequence[OutboxAction]
    ) -> bool:
        """Name the cancelled actions in the case the failed action's hook opened for it: on its timeline and in
        its detail's ``cancelled``. False, and nothing written, when that case has ended."""
        note, news = cancelled_news(outcome.action, outcome.case_reason, later, uow.cases.get(case_id).detail)
        return add_signal(
            uow, case_id, f"action:{outcome.action.id}", note, outcome.at, self._case_hooks, news
        )


def withdrawn(action: OutboxAction, reason: str, at: datetime) -> Outcome:
    """The outcome of an action whose reason passed before it could go (ADR 0068): withdrawn, not attempted, its
    reason kept where an action's outcome is (``last_error``, its history); the later actions of its decision are
    free to go, as after a send."""
    entry = {"at": at.isoformat(), "attempt": action.attempts, "outcome": "withdrawn", "reason": reason}
    updated = replace(action, status=ActionStatus.WITHDRAWN, last_error=f"not sent: {reason}",
                      history=(*action.history, entry))
    return Outcome(updated, Withdrawn(reason), at, "")


def _cancel_later(uow: UnitOfWork, failed: OutboxAction, failure: str, at: datetime) -> list[OutboxAction]:
    """Fail the later actions of a failed action's decision that are still pending, saying why (ADR 0042).

    They were never claimed (an action waits while an earlier one of its decision is pending), so no lease is
    asked of them; no hook runs for them and no case opens for each: the failure's case names them."""
    later = [
        cancelled(action, cancel_reason(failed, failure), at) for action in uow.outbox.pending_after(failed)
    ]
    if later:
        uow.outbox.cancel(later)
        log.warning(
            "action %s (%s) failed: %d later action(s) of its decision not sent",
            failed.id,
            failed.kind,
            len(later),
            extra=action_fields(failed),
        )
    return later


def _order_name(uow: UnitOfWork, action: OutboxAction) -> str:
    """The stored name (``#1205``) of the order an action was about, for its failure case's title; "" if none."""
    if action.order_id is None:
        return ""
    state = uow.orders.find(ShopDomain(action.shop), OrderId(action.order_id))
    return state.snapshot.name if state is not None and state.snapshot is not None else ""


def action_fields(action: OutboxAction) -> dict[str, str]:
    """What a log line says of an action (``extra=``): which one, never its payload (an address, an email)."""
    return {"action_id": action.id, "kind": action.kind, "provider": action.provider, "shop": action.shop}
