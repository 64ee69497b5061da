"""Drive a server with a simulated store over HTTP: every delivery posted to its webhook endpoint."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from opsdesk.domain.errors import InvalidInput, Unavailable
from opsdesk.simulator.run_state import Progress, RunStats
from opsdesk.simulator.store import Delivery, Store

SECRETS = "OPSDESK_SHOPIFY_SECRET, or the shop's secret_env in opsdesk.yaml"


def over_http(
    store: Store, target: str, speed: float | None, progress: Progress | None = None, timeout: float = 10.0
) -> RunStats:
    """Post every delivery to ``target``/webhooks/shopify, paced at ``speed`` virtual seconds per second.

    A desk that cannot be reached is ``Unavailable``; one that refuses a delivery as unsigned (401: it checks
    another secret, and would refuse the whole day) stops the run as ``InvalidInput``."""
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
            status = _post(client, url, d, stats.deliveries)
            stats.deliveries += 1
            stats.refused += status >= 300
            if progress is not None and stats.deliveries % 200 == 0:
                progress((d.at - store.s.first_order_at).total_seconds() / total, f"{d.at:%a %H:%M}")
    stats.seconds = time.perf_counter() - started
    return stats


def _post(client: httpx.Client, url: str, d: Delivery, posted: int) -> int:
    try:
        answer = client.post(url, content=d.body, headers={**d.headers, "Content-Type": "application/json"})
    except httpx.TransportError as exc:
        raise Unavailable(f"cannot post the simulated store's deliveries to {url} ({posted:,} of them posted): "
                          f"is `opsdesk serve` running there? ({exc})") from exc
    if answer.status_code == 401:
        which = "the first delivery" if posted == 0 else f"delivery {posted + 1:,}"
        raise InvalidInput(f"{url} refused {which} as not signed with its secret (401): "
                           f"sign with the secret the desk checks ({SECRETS})")
    return answer.status_code
