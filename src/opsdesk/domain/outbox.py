"""Outbound actions: deterministic ids and idempotency keys, retry schedule, circuit breaker.

An action's id is derived from the decision and its place in it, so recording the same decision twice
writes the same action once; the idempotency key sent to the provider is derived from that id, so a
retry after a crash (provider said 200, we had not committed) is recognised by the provider.
"""

from __future__ import annotations

import enum
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, assert_never

ActionId = str

#: The emails a rule's ``email`` action may name in ``template`` (``generic`` when it names none): the ones the
#: email connector writes for customers. ``policy check`` refuses any other where it is written.
EMAIL_TEMPLATES = frozenset({
    "refund_confirmation", "return_in_hand", "follow_up_delayed", "delayed_fulfilment", "carrier_delay_notice",
    "carrier_needs_buyer", "return_label_in_hand", "address_confirm", "generic",
})

#: What a customer email tells the customer, by the template that says it (ADR 0068, amended in session 15 (2)): the
#: monitor or rule that queues an email records it in the payload (``premise``), and the send's last look withdraws
#: the email once it has passed. ``unshipped``: the order is late; ``carrier_delay``: the parcel is delayed;
#: ``buyer_action``: the carrier needs the buyer; ``address``: the address needs confirming. The other templates
#: confirm what was done, and a rule's ``generic`` email says what only its rule knows: they have none.
TEMPLATE_PREMISES: Mapping[str, str] = {
    "follow_up_delayed": "unshipped", "delayed_fulfilment": "unshipped", "carrier_delay_notice": "carrier_delay",
    "carrier_needs_buyer": "buyer_action", "address_confirm": "address",
}
#: The premises an email may name (a rule's ``email`` action in ``premise``; ``policy check`` refuses any other).
EMAIL_PREMISES = frozenset(TEMPLATE_PREMISES.values())


def email_premise(payload: Mapping[str, Any]) -> str:
    """What an email tells the customer: its own ``premise``, else (an email queued before it carried one) its
    template's; "" when neither says."""
    return str(payload.get("premise") or TEMPLATE_PREMISES.get(str(payload.get("template") or "generic"), ""))


class ActionStatus(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    #: Never sent, and not to be: what it was for has passed since it was decided (ADR 0068). Not a failure.
    WITHDRAWN = "withdrawn"


def action_id(decision_id: str, index: int) -> ActionId:
    return hashlib.blake2b(f"{decision_id}#{index}".encode(), digest_size=16).hexdigest()


def idempotency_key(action: ActionId) -> str:
    """The key the provider sees; stable for the life of the action, across retries and restarts."""
    return f"opsdesk-{action}"


@dataclass(frozen=True, slots=True)
class Delivered:
    """The provider did it (or had already done it for this idempotency key)."""

    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RetryLater:
    """A transient failure: timeout, reset, 5xx, 429."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A permanent failure: retrying cannot help; a person must look."""

    reason: str


@dataclass(frozen=True, slots=True)
class CredentialsRefused(Rejected):
    """The provider refused the shop's credentials, not this action (Shopify: 401, or a 403 that names no access
    scope): nothing of the shop's can go until they work again (ADR 0067). Whoever does not look is told Rejected."""


SendResult = Delivered | RetryLater | Rejected


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """Not sent: the reason it was decided for has passed since (an order shipped before its "running late" email
    could go, ADR 0068). Decided by the desk before the send, never a provider's answer; nothing for a person."""

    reason: str

#: While a shop's credentials are refused, one of its actions is sent again as a probe after as long as they have
#: been refused (a doubling back-off), no sooner than the first and no later than the second.
CREDENTIALS_PROBE = (timedelta(seconds=30), timedelta(minutes=5))


def credentials_probe_at(refused_since: datetime, now: datetime) -> datetime:
    """When the next probe of credentials refused since ``refused_since`` is due, asked at ``now``."""
    low, high = CREDENTIALS_PROBE
    return now + min(high, max(low, now - refused_since))


def released_at(history: Sequence[Mapping[str, Any]], held_until: datetime, now: datetime) -> datetime:
    """When an action held for its shop's refused credentials goes once they work again at ``now`` (ADR 0067,
    session 15): at once, unless its last attempt asked for a retry later (then then), never later than it was held.
    A wait for an earlier action of its decision needs no care here: a claim never takes it before that one."""
    last = history[-1] if history else {}
    if last.get("outcome") == "retry" and "retry_in" in last:
        own = datetime.fromisoformat(last["at"]) + timedelta(seconds=float(last["retry_in"]))
        return min(held_until, max(now, own))
    return min(held_until, now)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, honouring the provider's Retry-After."""

    max_attempts: int = 8
    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        jittered = rng.uniform(ceiling / 2, ceiling)
        return max(jittered, retry_after or 0.0)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Breaker:
    """A circuit breaker per provider: after ``threshold`` failures in a row, stop calling for ``cool_down``."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    threshold: int = 5
    cool_down: timedelta = timedelta(seconds=30)

    def allows(self, now: datetime) -> bool:
        match self.state:
            case BreakerState.CLOSED | BreakerState.HALF_OPEN:
                return True
            case BreakerState.OPEN:
                return self.opened_at is not None and now - self.opened_at >= self.cool_down
            case _:
                assert_never(self.state)

    def probe(self, now: datetime) -> Breaker:
        """The state for a call about to be made: an open breaker past its cool-down lets one through."""
        if self.state is BreakerState.OPEN and self.allows(now):
            return replace(self, state=BreakerState.HALF_OPEN)
        return self

    def record(self, ok: bool, now: datetime) -> Breaker:
        if ok:
            return replace(self, state=BreakerState.CLOSED, failures=0, opened_at=None)
        failures = self.failures + 1
        if self.state is BreakerState.HALF_OPEN or failures >= self.threshold:
            return replace(self, state=BreakerState.OPEN, failures=failures, opened_at=now)
        return replace(self, failures=failures)
