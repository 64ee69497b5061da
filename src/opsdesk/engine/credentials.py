"""The outbox's gate for shops whose credentials a provider refuses (ADR 0067).

A refusal is the shop's, not the action's (``CredentialsRefused``: Shopify's 401, a 403 naming no scope), so the
sender does not burn the action through its retries, nor every other action of the shop after it:

- The refused action is held, not failed: its attempts stay as they were, its history says ``held`` and why, and
  it is due again at the next probe. In one transaction of its own (it is rare), the shop's credentials are marked
  refused and its one case opened (``services.shop_credentials``), and every pending action of the shop for that
  provider is held until the next probe (``hold_shop``), in this process's batches and any other's.
- While the mark stands (read at each batch's start, so that another process's refusal counts), one action of the
  shop per batch is sent, as a probe; the others claimed with it are held until the next probe without a call.
  Probes back off with the refusal's age: 30 s, then as long as it has lasted, at most 5 min apart.
- The first action delivered again records the credentials as working, settles the case and makes the held actions
  due at once (``shop_credentials.record_working``, as a sweep that reads does).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from opsdesk.domain.outbox import CredentialsRefused, Delivered, SendResult, credentials_probe_at
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.cases import CaseHooks
from opsdesk.services.shop_credentials import hold_refused, record_working, refused

log = logging.getLogger("opsdesk.outbox")

Pair = tuple[str, str]  # (provider, shop)


class CredentialsGate:
    """Per sender: which shops' credentials are refused, as read at a batch's start and learnt since."""

    def __init__(self, db: Database, hooks: CaseHooks, queue: str) -> None:
        self._db, self._hooks, self._queue = db, hooks, queue
        self._refused: dict[Pair, datetime] = {}
        self._probed: set[Pair] = set()

    def begin(self, uow: UnitOfWork, claimed: Sequence[OutboxAction]) -> None:
        """A new batch: read the marks of its shops in the claim's transaction (a read a shop and provider)."""
        self._probed = set()
        self._refused = refused(uow, ((a.provider, a.shop) for a in claimed))

    def held(self, action: OutboxAction, now: datetime) -> OutboxAction | None:
        """The action held until the next probe, without a call; None when it goes (its credentials are not
        refused, or it is this batch's probe of them)."""
        pair = (action.provider, action.shop)
        since = self._refused.get(pair)
        if since is None:
            return None
        if pair not in self._probed:
            self._probed.add(pair)
            return None
        return replace(action, next_attempt_at=max(action.next_attempt_at, credentials_probe_at(since, now)))

    def answered(self, action: OutboxAction, result: SendResult, now: datetime) -> OutboxAction | None:
        """After a call: a refusal holds the action (returned, with a ``held`` entry) and marks the shop; a delivery
        to a shop marked refused clears the mark. None when the action's outcome is written as usual."""
        pair = (action.provider, action.shop)
        if isinstance(result, CredentialsRefused):
            with self._db.unit_of_work() as uow:
                since, until = hold_refused(uow, *pair, result.reason, now, queue=self._queue, hooks=self._hooks)
                uow.commit()
            if pair not in self._refused:
                log.warning("%s refused the credentials of %s: its actions wait (%s)", *pair, result.reason,
                            extra={"shop": action.shop, "provider": action.provider})
            self._refused[pair] = since
            self._probed.add(pair)
            entry = {"at": now.isoformat(), "attempt": action.attempts, "outcome": "held", "error": result.reason,
                     "retry_at": until.isoformat()}
            return replace(action, next_attempt_at=until, last_error=result.reason, history=(*action.history, entry))
        if isinstance(result, Delivered) and pair in self._refused:
            with self._db.unit_of_work() as uow:
                record_working(uow, *pair, now, self._hooks)
                uow.commit()
            del self._refused[pair]
            log.info("%s accepts the credentials of %s again", *pair,
                     extra={"shop": action.shop, "provider": action.provider})
        return None
