"""The httpx client of the API connectors (Shopify Admin, the carriers' label APIs): no redirects, no cookies.

Redirects are never followed: a 3xx from an API endpoint is a misconfiguration, and following it would send
the credentials wherever it points. No cookie jar: these APIs authenticate every request with a header and
keep no session, so a cookie one of them set has nothing to do; and httpx's jar costs on every response,
cookie or not (it wraps the request and the response in ``urllib`` objects to ask the standard library's
``CookieJar``), about a third of the client's own time per call in the outbox's profile (docs/benchmarks.md).
"""

from __future__ import annotations

import httpx

__all__ = ["ApiClient"]


class _NoCookies(httpx.Cookies):
    """Always empty: a ``Set-Cookie`` in a response is not kept, so no request carries a ``Cookie``."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keeps nothing (and skips httpx's per-response ``urllib`` wrappers)."""


class ApiClient(httpx.Client):
    """An ``httpx.Client`` that follows no redirects and keeps no cookies."""

    def __init__(self, *, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(timeout=timeout, follow_redirects=False, transport=transport)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """The client's cookies: none, ever (httpx reads them here to send and to keep them)."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("an ApiClient keeps no cookies")
