"""What sends an outbound action to a provider, and what reacts to its outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from opsdesk.domain.outbox import SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.ports.unit_of_work import UnitOfWork


class Connector(Protocol):
    """Sends one kind of outbound action to one provider (Shopify, SMTP, ...)."""

    provider: str

    def send(self, action: OutboxAction) -> SendResult: ...


#: Called with every recorded outcome of an action of its kind, in the transaction that saves it
#: (``hook(uow, action, result, now)``; ``action.status`` says whether it is final). Returning True for
#: a final failure means the hook took charge of it (a fallback, a case of its own): no automation case. A hook
#: that opened a case for it returns the case's id instead: the later actions of the decision not sent because of
#: the failure are named there; else, as there are some, in an automation case of their own (ADR 0042).
OutcomeHook = Callable[[UnitOfWork, OutboxAction, SendResult, datetime], bool | str]
