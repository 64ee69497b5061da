"""The stand-in's token endpoint: Shopify's client credentials grant, with tokens that expire.

``POST …/admin/oauth/access_token`` with ``grant_type=client_credentials``, ``client_id`` and ``client_secret``
(form-encoded, as Shopify's documentation sends them, or JSON, as its Node library does) answers
``{"access_token": "shpat_…", "scope": …, "expires_in": …}`` for an app ``add_client`` registered, a token
that lives ``life`` seconds of the stand-in's clock. A wrong secret or an unknown client is refused with 400
(``refusal``) and an OAuth ``{"error", "error_description"}`` body; ``down`` makes the endpoint answer 503,
``delay`` slow. An expired or revoked token is refused by the Admin API with Shopify's 401 (``admits``).
Every grant request is recorded.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["PATH", "Grant", "TokenIssuer"]

PATH = re.compile(r"^(?:/shops/(?P<shop>[^/]+))?/admin/oauth/access_token$")
DAY = 86399.0  # what Shopify gives: ``expires_in`` of a client credentials token


@dataclass(frozen=True, slots=True)
class Grant:
    """One request to the token endpoint as the stand-in saw it."""

    shop: str
    client_id: str
    status: int


class TokenIssuer:
    """Client credentials grants for the apps registered with ``add_client``; the tokens it issued."""

    def __init__(self, seconds: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clients: dict[str, tuple[str, float, str]] = {}  # client id -> secret, life, scope
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> shop, expiry (seconds)
        self._grants: list[Grant] = []
        self._lock = threading.Lock()
        self.down = False  # while True, the endpoint answers 503
        self.delay = 0.0  # seconds each grant takes (wall clock): lets concurrent callers meet
        self.refusal = 400  # the status of a refused grant (OAuth servers answer invalid_client with 400 or 401)

    def add_client(self, client_id: str, secret: str, *, life: float = DAY, scope: str = "write_orders") -> None:
        """An app that may ask for tokens, each living ``life`` seconds."""
        with self._lock:
            self._clients[client_id] = (secret, life, scope)

    @property
    def grants(self) -> list[Grant]:
        with self._lock:
            return list(self._grants)

    def revoke(self) -> None:
        """Every token issued so far stops working (as an expired one: 401 from the Admin API)."""
        with self._lock:
            self._tokens.clear()

    def admits(self, token: str, shop: str, static: Collection[str]) -> bool:
        """Whether the Admin API takes ``token`` for ``shop``: a static token (any, when none is configured
        and no app is registered), or one this issuer gave for the shop that has not expired."""
        if not token:
            return False
        with self._lock:
            issued = self._tokens.get(token)
            if not self._clients:
                return not static or token in static
        if token in static:
            return True
        return issued is not None and issued[0] == shop and self._seconds() < issued[1]

    def handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        """The answer to one request for the token endpoint: status and JSON body."""
        match = PATH.match(path.split("?", 1)[0])
        shop = unquote(match.group("shop") or "") if match else ""
        form = _form(headers.get("content-type", ""), raw)
        client_id = str(form.get("client_id") or "")
        time.sleep(self.delay)
        status, body = self._answer(shop, client_id, form)
        with self._lock:
            self._grants.append(Grant(shop, client_id, status))
        return status, body

    def _answer(self, shop: str, client_id: str, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, {"errors": "Service Unavailable"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "The authorization grant type is not supported."}
        with self._lock:
            known = self._clients.get(client_id)
            if known is None or not secrets.compare_digest(known[0], str(form.get("client_secret") or "")):
                return self.refusal, {"error": "invalid_client",
                             "error_description": "Client authentication failed due to unknown client, no client"
                                                  " authentication included, or unsupported authentication method."}
            token = f"shpat_{secrets.token_hex(16)}"
            self._tokens[token] = (shop, self._seconds() + known[1])
        return 200, {"access_token": token, "scope": known[2], "expires_in": int(known[1])}


def _form(content_type: str, raw: bytes) -> dict[str, Any]:
    """The request's fields: JSON, or form-encoded (anything else)."""
    text = raw.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            found = json.loads(text)
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
    return dict(parse_qsl(text))
