"""Probing a shop's public pages (storefront speed, returns policy) over HTTP."""

from __future__ import annotations

import time

import httpx

from opsdesk import __version__
from opsdesk.domain.readiness import ProbeAnswer


class PageProbe:
    """GET a page the way a customer would (redirects followed) and time it; never raises."""

    def __init__(self, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self._timeout = timeout
        self._transport = transport

    def __call__(self, url: str) -> ProbeAnswer:
        started = time.perf_counter()  # a duration, not a point in time: the clock port is not involved
        try:
            with httpx.Client(
                timeout=self._timeout, follow_redirects=True, max_redirects=5, transport=self._transport
            ) as client:
                response = client.get(url, headers={"User-Agent": f"opsdesk-probe/{__version__}"})
        except (httpx.HTTPError, ValueError) as exc:
            return ProbeAnswer(None, None, f"{type(exc).__name__}: {exc}")
        return ProbeAnswer(response.status_code, round((time.perf_counter() - started) * 1000))
