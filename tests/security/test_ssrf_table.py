"""Reliability test 13, SSRF half: at least 60 payloads against the chat webhook guard, all blocked.

Private, loopback, link-local, shared, reserved and multicast targets in every notation (decimal, octal,
hex, short forms, IPv6, IPv4 inside IPv6), host names whose DNS answers are private (rebinding
included), URL parsing tricks, redirects to private addresses, and schemes that are not the web. A
payload is blocked when the connector refuses it (``Rejected``) and no request reaches any transport;
for redirects, when the one request made is not followed. Literal addresses go through the system
resolver (numeric forms resolve without a network); names go through a stub resolver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from opsdesk.connectors.chat import ChatWebhook, resolve
from opsdesk.domain.outbox import Rejected
from tests.integration.test_notifications import chat_action

LITERALS = [
    # IPv4, dotted decimal: loopback, unspecified, private, link-local (cloud metadata), shared, reserved
    "http://127.0.0.1/hook", "http://127.1/hook", "http://127.0.1/hook", "http://127.255.255.254/hook",
    "http://0.0.0.0/hook", "http://0/hook", "http://10.0.0.1/hook", "http://10.255.255.255/hook",
    "http://172.16.0.1/hook", "http://172.31.255.255/hook", "http://192.168.0.1/hook",
    "http://169.254.169.254/latest/meta-data/", "http://169.254.170.2/v2/credentials",
    "http://100.64.0.1/hook", "http://100.127.255.254/hook", "http://192.0.0.1/hook",
    "http://192.0.2.1/hook", "http://198.18.0.1/hook", "http://198.51.100.1/hook",
    "http://203.0.113.1/hook", "http://224.0.0.1/hook", "http://239.255.255.250/hook",
    "http://240.0.0.1/hook", "http://255.255.255.255/hook",
    # IPv4 in other notations
    "http://2130706433/hook", "http://0x7f000001/hook", "http://0x7f.0x0.0x0.0x1/hook",
    "http://0177.0.0.1/hook", "http://017700000001/hook", "http://0x7f.1/hook",
    "http://0xa9fea9fe/hook", "http://2852039166/hook", "http://0251.0376.0251.0376/hook",
    "http://0xA.0.0.1/hook", "http://167772161/hook", "http://3232235521/hook",
    # IPv6, and IPv4 carried in IPv6 (mapped, translated, compatible, NAT64, 6to4)
    "http://[::1]/hook", "http://[::]/hook", "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:7f00:1]/hook", "http://[0:0:0:0:0:ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook", "http://[::ffff:a9fe:a9fe]/hook", "http://[::ffff:10.0.0.1]/hook",
    "http://[::ffff:0:7f00:1]/hook", "http://[::127.0.0.1]/hook", "http://[::a9fe:a9fe]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook", "http://[64:ff9b::7f00:1]/hook", "http://[2002:7f00:1::]/hook",
    "http://[2002:a9fe:a9fe::]/hook", "http://[2002:c0a8:101::]/hook", "http://[fe80::1]/hook",
    "http://[fec0::1]/hook", "http://[fc00::1]/hook", "http://[fd12:3456:789a::1]/hook",
    "http://[ff02::1]/hook", "http://[100::1]/hook", "http://[2001:db8::1]/hook", "http://[2001::1]/hook",
    # URL parsing tricks: the host is what matters, whatever comes before @ or after #
    "http://user@127.0.0.1/hook", "http://hooks.example.com@127.0.0.1/hook",
    "http://127.0.0.1#@hooks.example.com/hook", "https://user:pw@[::1]:443/hook", "http://127.0.0.1:8080/hook",
]

#: name -> what its DNS answers (private, or rebinding: one public and one private answer)
NAMES = {
    "http://localhost/hook": ["127.0.0.1"],
    "http://LOCALHOST./hook": ["127.0.0.1", "::1"],
    "http://metadata.google.internal/computeMetadata/v1/": ["169.254.169.254"],
    "http://internal.example.com/hook": ["10.0.0.5"],
    "http://v6.example.com/hook": ["::1"],
    "http://rebind.example.com/hook": ["93.184.215.14", "10.1.2.3"],
    "http://mapped.example.com/hook": ["::ffff:192.168.1.1"],
    "http://nat64.example.com/hook": ["64:ff9b::a00:1"],
    "http://scoped.example.com/hook": ["fe80::1%eth0"],
    "http://127.0.0.1.nip.io/hook": ["127.0.0.1"],
    "http://cgnat.example.com/hook": ["100.100.100.100"],
}

SCHEMES = [
    "file:///etc/passwd", "gopher://127.0.0.1:70/_stats", "ftp://127.0.0.1/", "dict://127.0.0.1:11211/stats",
    "ldap://127.0.0.1/", "http:///hook",
]

REDIRECTS = [
    (302, "http://169.254.169.254/latest/meta-data/"),
    (301, "http://10.0.0.1/hook"),
    (307, "http://127.0.0.1:22/"),
    (308, "http://[::1]/hook"),
]


def _attempt(url: str, resolver: Callable[[str, int], list[str]] = resolve) -> tuple[object, list[httpx.Request]]:
    """Send through the guard with a transport that records (and answers) every request made."""
    made: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        made.append(request)
        return httpx.Response(200)

    chat = ChatWebhook(env={"HOOK": url}, resolver=resolver, transport=httpx.MockTransport(record))
    with chat:
        return chat.send(chat_action(env="HOOK")), made


def test_the_table_has_at_least_sixty_payloads() -> None:
    assert len(LITERALS) + len(NAMES) + len(SCHEMES) + len(REDIRECTS) >= 60


@pytest.mark.parametrize("url", LITERALS)
def test_private_addresses_in_every_notation_are_refused(url: str) -> None:
    result, made = _attempt(url)
    assert isinstance(result, Rejected), result
    # octal dotted forms (0177.0.0.1) are not even valid URLs to httpx: refused before any look-up
    assert "non-public address" in result.reason or result.reason.endswith("not a valid URL")
    assert made == []


@pytest.mark.parametrize(("url", "answers"), NAMES.items())
def test_names_whose_dns_answers_are_private_are_refused(url: str, answers: list[str]) -> None:
    result, made = _attempt(url, resolver=lambda host, port: answers)
    assert isinstance(result, Rejected), result
    assert "non-public address" in result.reason
    assert made == []


@pytest.mark.parametrize("url", SCHEMES)
def test_urls_that_are_not_web_hooks_are_refused(url: str) -> None:
    result, made = _attempt(url)
    assert isinstance(result, Rejected), result
    assert made == []


def test_a_public_answer_is_called_at_the_address_that_was_checked() -> None:
    """The control: the guard is not simply refusing everything."""
    result, made = _attempt("https://hooks.example.com/x", resolver=lambda host, port: ["93.184.215.14"])
    assert not isinstance(result, Rejected)
    [request] = made
    assert (request.url.host, request.headers["Host"]) == ("93.184.215.14", "hooks.example.com")


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[tuple[int, str]], list[str]]]:
    """A local webhook answering with the redirect the test puts in ``target``; it records each request."""
    seen: list[str] = []
    target: list[tuple[int, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, location = target[0]
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", target, seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("status", "location"), REDIRECTS)
def test_redirects_to_private_addresses_are_never_followed(
    redirecting: tuple[str, list[tuple[int, str]], list[str]], status: int, location: str
) -> None:
    url, target, seen = redirecting
    target.append((status, location))
    # the local stand-in itself is private: this connector is allowed to reach it, and no further
    chat = ChatWebhook(env={"HOOK": url}, allow_private=True)
    with chat:
        result = chat.send(chat_action(env="HOOK"))
    assert result == Rejected(f"chat webhook answered HTTP {status} (redirects are never followed)")
    assert seen == ["/hook"]  # one request, to the webhook; the redirect went nowhere
