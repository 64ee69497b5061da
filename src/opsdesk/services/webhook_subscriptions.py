"""The webhook subscriptions a shop needs, from the topics the normaliser handles (ADR 0038).

Two ways, as Shopify offers them: the ``[webhooks]`` block of the app's ``shopify.app.toml`` (the app's
subscriptions, for every shop it is installed on, and the only way to the compliance topics), and per-shop
subscriptions through the Admin API, made idempotent here: ``subscribe`` reads the shop's subscriptions
first, creates a topic's only when it has none, moves one whose URL differs, and leaves the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from opsdesk.domain.errors import InvalidInput, Unavailable
from opsdesk.domain.outbox import Rejected, RetryLater
from opsdesk.normalise.shopify import COMPLIANCE_TOPICS, SHOP_TOPICS

JSON = dict[str, Any]


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    THERE = "already there"
    REFUSED = "refused"
    FAILED = "failed"  # not now (throttled, a server error, the network): running it again may pass


@dataclass(frozen=True, slots=True)
class TopicResult:
    """What became of one topic's subscription; ``detail`` says why when it was refused or failed."""

    topic: str
    outcome: Outcome
    id: str = ""
    detail: str = ""

    def as_dict(self) -> JSON:
        return {"topic": self.topic, "outcome": self.outcome.value, "id": self.id, "detail": self.detail}


class SubscriptionAdmin(Protocol):
    """What subscribing needs from the Admin API connector (``connectors.shopify_webhooks``)."""

    def subscriptions(self, shop: str) -> list[JSON] | RetryLater | Rejected:
        """Every subscription the app made for the shop through the API: ``{"id", "topic", "uri"}``, the topic
        as Shopify's enum (``ORDERS_CREATE``)."""

    def create(self, shop: str, topic: str, uri: str) -> JSON | RetryLater | Rejected: ...

    def update(self, shop: str, subscription_id: str, uri: str) -> JSON | RetryLater | Rejected: ...


def topic_enum(topic: str) -> str:
    """A topic as Shopify's ``WebhookSubscriptionTopic`` names it: ``orders/create`` is ``ORDERS_CREATE``."""
    return topic.replace("/", "_").replace(".", "_").upper()


def app_toml(uri: str, api_version: str) -> str:
    """The ``[webhooks]`` block of ``shopify.app.toml``: every handled topic, the compliance ones apart."""
    return (f'[webhooks]\napi_version = "{api_version}"\n\n'
            f"  [[webhooks.subscriptions]]\n  topics = [\n{_items(SHOP_TOPICS)}  ]\n  uri = {_quoted(uri)}\n\n"
            f"  [[webhooks.subscriptions]]\n  compliance_topics = [\n{_items(COMPLIANCE_TOPICS)}  ]\n"
            f"  uri = {_quoted(uri)}\n")


def _items(topics: Sequence[str]) -> str:
    return "".join(f'    "{t}",\n' for t in topics)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def listed(admin: SubscriptionAdmin, shop: str) -> list[JSON]:
    """The shop's API subscriptions with their topics as the desk names them; raises when they cannot be read."""
    found = admin.subscriptions(shop)
    if isinstance(found, RetryLater):
        raise Unavailable(f"{shop}: the webhook subscriptions cannot be read now: {found.reason}")
    if isinstance(found, Rejected):
        raise InvalidInput(f"{shop}: the webhook subscriptions cannot be read: {found.reason}")
    names = {topic_enum(t): t for t in (*SHOP_TOPICS, *COMPLIANCE_TOPICS)}
    return [{**s, "topic": names.get(str(s.get("topic")), str(s.get("topic")))} for s in found]


def subscribe(admin: SubscriptionAdmin, shop: str, uri: str, *, dry_run: bool = False) -> list[TopicResult]:
    """Make the shop's subscriptions to every handled topic but the compliance ones point at ``uri``.

    One result per topic; with ``dry_run`` nothing is sent but the read, and the results say what would be."""
    if not uri.startswith("https://"):
        raise InvalidInput(f"--url must be an https:// address (Shopify delivers to HTTPS only), not {uri!r}")
    existing: dict[str, list[JSON]] = {}
    for found in listed(admin, shop):
        existing.setdefault(str(found["topic"]), []).append(found)
    return [_subscribe_topic(admin, shop, topic, uri, existing.get(topic, []), dry_run) for topic in SHOP_TOPICS]


def _subscribe_topic(admin: SubscriptionAdmin, shop: str, topic: str, uri: str, existing: list[JSON],
                     dry_run: bool) -> TopicResult:
    there = next((s for s in existing if s.get("uri") == uri), None)
    if there is not None:
        return TopicResult(topic, Outcome.THERE, str(there.get("id") or ""))
    if dry_run:
        return TopicResult(topic, Outcome.UPDATED if existing else Outcome.CREATED,
                           str(existing[0].get("id") or "") if existing else "", "dry run: nothing sent")
    if existing:
        reply = admin.update(shop, str(existing[0]["id"]), uri)
        done = Outcome.UPDATED
    else:
        reply = admin.create(shop, topic_enum(topic), uri)
        done = Outcome.CREATED
    if isinstance(reply, Rejected):
        return TopicResult(topic, Outcome.REFUSED, detail=reply.reason)
    if isinstance(reply, RetryLater):
        return TopicResult(topic, Outcome.FAILED, detail=reply.reason)
    return TopicResult(topic, done, str(reply.get("id") or ""))
