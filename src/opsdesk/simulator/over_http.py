"""Drive a server with a simulated store over HTTP: every delivery posted to its webhook endpoint."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from opsdesk.simulator.run_state import Progress, RunStats
from opsdesk.simulator.store import Store


def over_http(
    store: Store, target: str, speed: float | None, progress: Progress | None = None, timeout: float = 10.0
) -> RunStats:
    """Post every delivery to ``target``/webhooks/shopify, paced at ``speed`` virtual seconds per second."""
    stats, started = RunStats(), time.perf_counter()
    first: datetime | None = None
    url = target.rstrip("/") + "/webhooks/shopify"
    total = (store.s.horizon - store.s.first_order_at).total_seconds()
    with httpx.Client(timeout=timeout) as client:
        for d in store:
            first = first or d.at
            if speed is not None:
                wait = (d.at - first).total_seconds() / speed - (time.perf_counter() - started)
                if wait > 0:
                    time.sleep(wait)
            answer = client.post(
                url, content=d.body, headers={**d.headers, "Content-Type": "application/json"}
            )
            stats.deliveries += 1
            stats.refused += answer.status_code >= 300
            if progress is not None and stats.deliveries % 200 == 0:
                progress((d.at - store.s.first_order_at).total_seconds() / total, f"{d.at:%a %H:%M}")
    stats.seconds = time.perf_counter() - started
    return stats
