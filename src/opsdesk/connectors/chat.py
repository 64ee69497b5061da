"""Team chat through incoming webhooks (Slack-compatible ``{"text": ...}``), guarded against SSRF.

The webhook URL is a secret, so the action names the environment variable that holds it, never the URL.
Before each call the host is resolved and every address it resolves to must be public: private,
loopback, link-local, shared, reserved, multicast and unspecified addresses are refused, also when
written as IPv4-mapped, 6to4 or NAT64 IPv6. The request then goes to the address that was checked (the
host name kept for the ``Host`` header and TLS), so a DNS answer that changes between check and connect
cannot point it elsewhere; redirects are never followed.

Outcomes: 2xx -> Delivered; 408, 429, 5xx, timeouts, refused or broken connections and DNS failures ->
RetryLater (with the provider's ``Retry-After``); 3xx, other 4xx, a missing or refused URL -> Rejected. The
``timeout`` bounds the whole call (connect, send, headers and body: ``connectors/http.ApiClient``), so a hook
that answers a byte at a time is given up on, as one that does not answer.
No httpx or socket exception leaves this module.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

import httpx

from opsdesk.clock import SystemClock
from opsdesk.connectors.http import ApiClient
from opsdesk.connectors.shopify_errors import retry_after
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Clock

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> every address the host resolves to (``socket.getaddrinfo`` by default).
Resolver = Callable[[str, int], list[str]]
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: IPv6 forms whose last 32 bits are an IPv4 address: NAT64, IPv4-translated (SIIT) and the deprecated
#: IPv4-compatible ``::a.b.c.d`` (Python's ``is_global`` judges all three as IPv6, i.e. public).
CARRY_IPV4 = (NAT64, ipaddress.IPv6Network("::ffff:0:0:0/96"), ipaddress.IPv6Network("::/96"))
UNSPECIFIED_OR_LOOPBACK = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))


class _Refused(Exception):
    """The URL may not be called."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as the system resolver answers."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, translated, compatible, 6to4, NAT64), else itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if any(ip in net for net in CARRY_IPV4) and ip not in UNSPECIFIED_OR_LOOPBACK:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(address: str) -> bool:
    """Reachable on the public internet: not private, loopback, link-local, site-local, reserved, shared
    or multicast, in any notation."""
    ip = embedded(ipaddress.ip_address(address.split("%", 1)[0]))
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # fec0::/10: Python counts it global
        return False
    return ip.is_global and not ip.is_multicast


class ChatWebhook:
    """Posts ``chat`` outbox actions to the incoming webhook named by ``payload["webhook_env"]``."""

    provider = "chat"
    #: Slack-compatible incoming webhooks take no idempotency key: a message sent again is posted again, so the
    #: outbox records each one's outcome before it sends the next action (ADR 0004).
    recognises_repeats = False

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        allow_private: bool = False,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._clock = clock or SystemClock()
        self._allow_private = allow_private
        self._resolve = resolver
        # The API connectors' client: ``timeout`` bounds the whole call, not each read (ADR 0056); no cookies.
        self._client = ApiClient(timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, action: OutboxAction) -> SendResult:
        name = str(action.payload.get("webhook_env") or "")
        url = self._env.get(name, "") if name else ""
        if not url:
            return Rejected(f"no chat webhook URL in the environment variable {name!r}")
        try:
            target, host = self._pinned(url)
        except (_Refused, ValueError) as exc:  # ValueError: a host name the resolver cannot encode
            return Rejected(f"chat webhook from {name}: {exc}")
        except OSError as exc:  # DNS failure: may well answer next time
            return RetryLater(f"chat webhook from {name}: cannot resolve: {exc}")
        return self._post(action, target, host)

    def _pinned(self, url: str) -> tuple[httpx.URL, str]:
        """The URL with its host replaced by a checked address, and the host name."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise _Refused("not a valid URL") from None
        if parsed.scheme not in {"http", "https"} or not parsed.host:
            raise _Refused(f"only http and https URLs with a host are allowed, not {parsed.scheme!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = self._resolve(parsed.host, port)
        if not addresses:
            raise OSError(f"{parsed.host} has no address")
        bad = [a for a in addresses if not is_public(a)]
        if bad and not self._allow_private:
            raise _Refused(f"{parsed.host} resolves to a non-public address ({bad[0]})")
        return parsed.copy_with(host=addresses[0].split("%", 1)[0]), parsed.host

    def _post(self, action: OutboxAction, target: httpx.URL, host: str) -> SendResult:
        headers = {"Host": _host_header(host, target), "Idempotency-Key": action.idempotency_key}
        try:
            response = self._client.post(
                target,
                json={"text": str(action.payload.get("text", ""))},
                headers=headers,
                extensions={"sni_hostname": host},
            )
        except httpx.TimeoutException as exc:
            return RetryLater(f"chat webhook timed out: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return RetryLater(f"chat webhook: {type(exc).__name__}: {exc}")
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if status in (408, 429) or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"), self._clock.now())
            return RetryLater(f"chat webhook answered HTTP {status}", wait)
        if 300 <= status < 400:
            return Rejected(f"chat webhook answered HTTP {status} (redirects are never followed)")
        if not 200 <= status < 300:
            return Rejected(f"chat webhook answered HTTP {status}: {response.text[:200]}")
        return Delivered({"status": status})


def _host_header(host: str, target: httpx.URL) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if target.port is None else f"{name}:{target.port}"
