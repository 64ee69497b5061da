"""A stand-in for the demo store's public pages, for the readiness probes (storefront speed, returns policy).

The demo's shop is ``demo-store.example``: ``.example`` names are reserved (RFC 2606) and never resolve,
so with no stand-in its probes could only fail. The stand-in answers for hosts under ``.example`` the way
a healthy storefront does; every other URL goes to the real probe (``fallback``), so pointing a real
store's config at the stand-ins never makes its real pages look up.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from opsdesk.domain.readiness import ProbeAnswer

#: The demo's pages, by path; any other path on a stand-in host is not found, as on a real shop.
PAGES = frozenset({"/", "/policies/refund-policy"})
ANSWER_MS = 180  # a healthy storefront's time to first byte, give or take


class StandInStorefront:
    """A page probe answered by the stand-in for ``*.example`` hosts and by ``fallback`` for the rest."""

    def __init__(self, fallback: Callable[[str], ProbeAnswer]) -> None:
        self._fallback = fallback
        self.fetched: list[str] = []

    def __call__(self, url: str) -> ProbeAnswer:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not (host == "example" or host.endswith(".example")):
            return self._fallback(url)
        self.fetched.append(url)
        return ProbeAnswer(200 if (parts.path or "/") in PAGES else 404, ANSWER_MS)
