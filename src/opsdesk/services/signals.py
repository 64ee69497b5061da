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

from opsdesk.domain.records import RawDelivery
from opsdesk.ports import UnitOfWork

#: ``api_version`` of internal deliveries: tells them apart from Shopify's in the raw store.
INTERNAL = "opsdesk"


def emit(uow: UnitOfWork, shop: str, topic: str, fact: str, payload: dict[str, Any], now: datetime) -> bool:
    """Append a signal (``topic`` such as ``opsdesk/order_oversold``); False when this fact was raised before."""
    body = orjson.dumps({**payload, "at": now.isoformat()})
    delivery = RawDelivery(
        shop=shop,
        webhook_id=f"opsdesk:{topic}:{fact}",
        topic=topic,
        body=body,
        received_at=now,
        api_version=INTERNAL,
        event_id=f"opsdesk:{fact}",
        triggered_at=now,
    )
    return uow.deliveries.add([delivery]) == 1
