"""The desk's own signals, appended as deliveries on ``opsdesk/*`` topics and decided like webhooks.

A monitor, timer or action outcome that finds something (an order for stock that is gone, a payment
still pending) reports it here instead of deciding by itself: the pipeline folds, decides with the
playbooks, records the decision and writes the actions and the case, with the same deduplication as
Shopify's deliveries (the webhook id is derived from the fact, so a signal raised twice is stored once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from opsdesk.domain.ids import KEY_LENGTH, fit_id
from opsdesk.domain.records import RawDelivery
from opsdesk.ports import UnitOfWork

#: ``api_version`` of internal deliveries: tells them apart from Shopify's in the raw store.
INTERNAL = "opsdesk"


def emit(uow: UnitOfWork, shop: str, topic: str, fact: str, payload: dict[str, Any], now: datetime) -> bool:
    """Append a signal (``topic`` such as ``opsdesk/order_oversold``); False when this fact was raised before."""
    return uow.deliveries.add([signal(shop, topic, fact, payload, now)]) == 1


def signal(shop: str, topic: str, fact: str, payload: dict[str, Any], now: datetime) -> RawDelivery:
    """The delivery of a signal; its ids come from the fact (fitted to their columns: an order of many SKUs
    is a long fact)."""
    return RawDelivery(
        shop=shop,
        webhook_id=fit_id(f"opsdesk:{topic}:{fact}", length=KEY_LENGTH),
        topic=topic,
        body=orjson.dumps({**payload, "at": now.isoformat()}),
        received_at=now,
        api_version=INTERNAL,
        event_id=fit_id(f"opsdesk:{fact}", length=KEY_LENGTH),
        triggered_at=now,
    )
