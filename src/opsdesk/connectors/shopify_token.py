"""Admin API access tokens obtained by Shopify's client credentials grant, kept in memory and renewed in time.

An app of the merchant's own organisation, created in the Dev Dashboard, has no permanent token: it asks
``POST https://{shop}/admin/oauth/access_token`` (form-encoded ``grant_type=client_credentials``, ``client_id``,
``client_secret``) and gets ``{"access_token", "scope", "expires_in"}``, a token for about a day (ADR 0036).
``AccessTokens`` asks once per shop on first use, keeps the token with its expiry, asks again a little before
it expires (``MARGIN``, or a tenth of its life when that is shorter) and when the Admin API refuses it (401).
One lock per shop: callers that find the token due wait for the one grant in flight and use its token.

A refused grant (400, 401, 403: Shopify's OAuth ``{"error", "error_description"}``) is ``Rejected`` (asking
again cannot help until the configuration changes), named with the shop and the variables to check, and
remembered for ``REFUSAL_HOLD`` so that a queue of actions does not ask again each. One that refuses the
app's credentials themselves (a 401, or ``invalid_client``, ``app_not_installed``, ``shop_not_permitted``) is
``CredentialsRefused``: the shop's actions wait for them to be fixed rather than fail each (ADR 0067, amended). A
refusal is remembered with the credentials refused: once a variable holds others, they are asked for at once.
429, 5xx and a network error are ``RetryLater``. The client secret is never in a message: what Shopify answers
is echoed with it blanked out. Each grant asked ends in ``on_grant`` with its outcome (``GrantOutcome``):
``granted``; ``refused`` (for good, by Shopify or for want of the client ID or secret); ``failed`` (to be asked
again). A refusal answered from memory is no grant asked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import httpx

from opsdesk.domain.outbox import CredentialsRefused, Rejected, RetryLater
from opsdesk.ports import Clock

__all__ = ["MARGIN", "REFUSAL_HOLD", "AccessTokens", "ClientCredentials", "GrantOutcome", "token_url"]

#: A token is renewed this long before it expires (or at 90 % of its life, when that comes later).
MARGIN = timedelta(minutes=5)
#: A refused grant is answered from memory this long before Shopify is asked again.
REFUSAL_HOLD = timedelta(seconds=30)
#: The life assumed for a token whose answer gives no ``expires_in`` (Shopify's are a day).
ASSUMED_LIFE = timedelta(hours=1)
_GRAPHQL = re.compile(r"/admin/api/[^/]+/graphql\.json$")
#: How a grant asked ended: a token; refused for good (``Rejected``); failed for now (``RetryLater``).
GrantOutcome = Literal["granted", "refused", "failed"]
#: OAuth errors that refuse the app's client ID and secret for the shop, not the request's form: a wrong or rotated
#: secret, an unknown client, the app not installed on the shop or the shop outside the app's organisation.
CREDENTIALS_ERRORS = frozenset({"invalid_client", "app_not_installed", "shop_not_permitted"})


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A Dev Dashboard app's client ID and secret, and the variables they were read from (for messages)."""

    client_id: str
    client_secret: str = field(repr=False)
    client_id_env: str = ""
    client_secret_env: str = ""


@dataclass(frozen=True, slots=True)
class _Held:
    token: str
    renew_at: datetime


def token_url(graphql_url: str) -> str:
    """The shop's token endpoint, next to its GraphQL endpoint: ``…/admin/oauth/access_token``."""
    url = httpx.URL(graphql_url)
    path = _GRAPHQL.sub("/admin/oauth/access_token", url.path)
    return str(url.copy_with(path=path if path != url.path else "/admin/oauth/access_token", query=None))


class AccessTokens:
    """Each shop's current token from the client credentials grant, renewed before it expires."""

    def __init__(self, client: httpx.Client, clock: Clock, url_for: Callable[[str], str],
                 on_grant: Callable[[GrantOutcome], None] = lambda outcome: None) -> None:
        self._client = client
        self._clock = clock
        self._url_for = url_for
        self._on_grant = on_grant  # the metrics: opsdesk_shopify_token_grants_total{outcome}
        self._held: dict[str, _Held] = {}
        self._refused: dict[str, tuple[datetime, Rejected, ClientCredentials]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()  # makes the per-shop locks

    def token(self, shop: str, credentials: ClientCredentials) -> str | Rejected | RetryLater:
        """The shop's token, asked for when there is none or it is due; what went wrong otherwise."""
        held = self._held.get(shop)
        if held is not None and self._clock.now() < held.renew_at:
            return held.token
        with self._lock(shop):
            now = self._clock.now()
            held = self._held.get(shop)
            if held is not None and now < held.renew_at:  # renewed by the caller this one waited for
                return held.token
            refused = self._refused.get(shop)
            if refused is not None and now < refused[0] + REFUSAL_HOLD and refused[2] == credentials:
                return refused[1]
            outcome = self._grant(shop, credentials, now)
            self._on_grant("granted" if isinstance(outcome, str) else
                           "refused" if isinstance(outcome, Rejected) else "failed")
            return outcome

    def refused(self, shop: str, token: str) -> None:
        """The Admin API refused ``token`` (401): forget it, unless a newer one has replaced it already."""
        with self._lock(shop):
            held = self._held.get(shop)
            if held is not None and held.token == token:
                del self._held[shop]

    def _lock(self, shop: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(shop, threading.Lock())

    def _grant(self, shop: str, credentials: ClientCredentials, now: datetime) -> str | Rejected | RetryLater:
        missing = [n or "?" for n, v in ((credentials.client_id_env, credentials.client_id),
                                         (credentials.client_secret_env, credentials.client_secret)) if not v]
        if missing:
            return Rejected(f"no client credentials for {shop!r}: {' and '.join(missing)} not set")
        form = {"grant_type": "client_credentials", "client_id": credentials.client_id,
                "client_secret": credentials.client_secret}
        try:
            response = self._client.post(self._url_for(shop), data=form, headers={"Accept": "application/json"})
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Rejected(f"bad token endpoint for {shop!r}: {exc}")
        except httpx.HTTPError as exc:
            return RetryLater(f"access token for {shop!r}: {type(exc).__name__}")
        outcome = self._read(shop, response, credentials, now)
        if isinstance(outcome, _Held):
            self._held[shop] = outcome
            self._refused.pop(shop, None)
            return outcome.token
        if isinstance(outcome, Rejected):
            self._refused[shop] = (now, outcome, credentials)
        return outcome

    def _read(self, shop: str, response: httpx.Response, credentials: ClientCredentials,
              now: datetime) -> _Held | Rejected | RetryLater:
        status = response.status_code
        if status in (408, 429) or status >= 500:
            return RetryLater(f"access token for {shop!r}: HTTP {status}")
        body = _json(response)
        if not 200 <= status < 300:
            said = f"{body.get('error') or ''}: {body.get('error_description') or ''}".strip(": ")
            said = (said or response.text[:200]).replace(credentials.client_secret, "***")
            refusal = CredentialsRefused if status == 401 or body.get("error") in CREDENTIALS_ERRORS else Rejected
            return refusal(
                f"Shopify refused the client credentials grant for {shop!r} (HTTP {status}: {said}); check "
                f"{credentials.client_id_env or 'the client ID'} and {credentials.client_secret_env or 'the secret'}"
                " against the app's Settings in the Dev Dashboard, and that the app is installed on this store"
                " and belongs to its organisation")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            return RetryLater(f"access token for {shop!r}: HTTP {status} without an access_token")
        expires_in = body.get("expires_in")
        life = timedelta(seconds=expires_in) if isinstance(expires_in, int | float) else ASSUMED_LIFE
        return _Held(token, now + life - min(MARGIN, life / 10))


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
