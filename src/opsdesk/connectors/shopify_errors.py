"""What an Admin API answer that is not data says: RetryLater (with the provider's wait) or Rejected.

``THROTTLED``, 429, 408 and 5xx say "not now", with the wait the provider gives (``Retry-After``, as seconds or
an HTTP-date read on the server's own clock, or the throttle's cost); other top-level GraphQL errors and
``MAX_COST_EXCEEDED`` say "never". ``ShopifyAdmin`` reads every answer through these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from opsdesk.connectors.shopify_bucket import throttle_wait
from opsdesk.domain.outbox import Rejected, RetryLater

JSON = dict[str, Any]

#: Shopify refuses a query whose requested cost is over its single-query limit, before running it: asking
#: again cannot help, the query must ask for less.
TOO_COSTLY = "MAX_COST_EXCEEDED"
#: Top-level GraphQL error codes that say "not now" rather than "never".
TRANSIENT_CODES = frozenset({"THROTTLED", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, or an HTTP-date compared with ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def server_time(response: httpx.Response) -> datetime | None:
    """The response's ``Date``: an HTTP-date Retry-After is best measured on the server's own clock."""
    return _http_date(response.headers.get("Date", ""))


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def credentials_refused(status: int, text: str) -> bool:
    """Whether an Admin API answer refuses the shop's credentials rather than one call (ADR 0067): 401 always ("[API]
    Invalid API key or access token": a revoked token, an uninstalled app); 403 unless it names an access scope
    ("This action requires merchant approval for write_orders scope": only the calls that need that scope fail).
    A scope missing for a GraphQL field is a 200 with ``ACCESS_DENIED`` (``graphql_errors``: Rejected)."""
    return status == 401 or (status == 403 and "scope" not in text.lower())


def graphql_errors(body: JSON) -> RetryLater | Rejected:
    errors = body["errors"]
    items: list[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in items if isinstance(e, dict)}
    text = "; ".join(error_message(e) for e in items)
    if "THROTTLED" in codes:
        return RetryLater(f"throttled: {text}", throttle_wait(body))
    if (
        TOO_COSTLY in codes
    ):  # Shopify's message goes on to links about bulk operations: its first line says it
        return Rejected(f"{TOO_COSTLY}: {text.splitlines()[0] if text else 'the query costs too much'}")
    return RetryLater(text) if codes & TRANSIENT_CODES else Rejected(text)


def error_message(error: object) -> str:
    if isinstance(error, dict):
        field = ".".join(str(f) for f in error.get("field") or [])
        return f"{field}: {error.get('message')}" if field else str(error.get("message"))
    return str(error)
