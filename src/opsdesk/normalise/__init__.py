"""Store payloads (Shopify webhooks) turned into domain events."""

from opsdesk.normalise.shopify import HANDLED_TOPICS, Ignored, Normalised, normalise
from opsdesk.normalise.topics import IGNORED_TOPICS

__all__ = ["HANDLED_TOPICS", "IGNORED_TOPICS", "Ignored", "Normalised", "normalise"]
