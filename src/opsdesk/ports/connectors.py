"""What sends an outbound action to a provider."""

from __future__ import annotations

from typing import Protocol

from opsdesk.domain.outbox import SendResult
from opsdesk.domain.records import OutboxAction


class Connector(Protocol):
    """Sends one kind of outbound action to one provider (Shopify, SMTP, ...)."""

    provider: str

    def send(self, action: OutboxAction) -> SendResult: ...

