"""A connector's ``timeout`` bounds the whole call, not each read: a server that answers a byte at a time (a tarpit,
a dying proxy) gets a retry after the timeout, instead of holding the outbox's thread for as long as it trickles
(ADR 0056). Real servers on 127.0.0.1; the Shopify, carrier, chat and SMTP connectors as the worker builds them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from opsdesk.connectors.carrier import CarrierLabels
from opsdesk.connectors.chat import ChatWebhook
from opsdesk.connectors.email import SmtpEmail, Tls
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.carriers import RETURN_LABEL
from opsdesk.domain.outbox import RetryLater, SendResult, idempotency_key
from opsdesk.domain.records import OutboxAction
from tests.integration._servers import START, email_action, refund_action

TIMEOUT = 0.5  # the connector's timeout, in seconds
TRICKLE = 4.0  # how long the server keeps answering, a byte every 0.2 s
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
BODY = b'{"data": {"refundCreate": {"refund": null, "userErrors": []}}}'.ljust(400)
#: The start of a TLS handshake record 16 kB long (a ServerHello), then zeros: TLS waits for the rest.
SERVER_HELLO = b"\x16\x03\x03\x40\x00\x02\x00\x3f\xfc\x03\x03" + bytes(100)


class Trickle:
    """A server on 127.0.0.1 that reads a request (unless the client waits to be greeted, as SMTP's does), sends
    ``head`` at once and ``answer`` a byte every 0.2 s, for ``TRICKLE`` seconds at most."""

    def __init__(self, answer: bytes, *, head: bytes = b"", reads_first: bool = True) -> None:
        self._answer, self._head, self._reads_first = answer, head, reads_first
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn:
            self._before(conn)
            if self._reads_first:
                conn.recv(65536)
            conn.sendall(self._head)
            end = time.monotonic() + TRICKLE
            for byte in self._answer:
                if self._stop.wait(0.2) or time.monotonic() > end:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client gave up and closed: what it should do
                    return

    def _before(self, conn: socket.socket) -> None:
        """What the server says before it reads the request: nothing here."""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


class StartTlsRelay(Trickle):
    """A relay that greets after ``pause`` seconds, offers STARTTLS, agrees to it, then reads the client's hello
    and answers a TLS record a byte at a time."""

    def __init__(self, pause: float) -> None:
        self._pause = pause
        super().__init__(SERVER_HELLO)

    def _before(self, conn: socket.socket) -> None:
        time.sleep(self._pause)
        for answer in (b"220 relay.example ESMTP\r\n", b"250-relay.example\r\n250 STARTTLS\r\n"):
            conn.sendall(answer)
            conn.recv(65536)  # EHLO, then STARTTLS
        conn.sendall(b"220 go ahead\r\n")


def shopify_refund(url: str) -> SendResult:
    with ShopifyAdmin(lambda shop: f"{url}/graphql.json", lambda shop: "token", timeout=TIMEOUT) as shopify:
        return shopify.send(refund_action(1, gateway="shopify_payments"))


def carrier_label(url: str) -> SendResult:
    payload = {"carrier": "ups", "return_id": 7, "address": {"zip": "40003", "country": "US"}}
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    label = OutboxAction("a1", "d", "shop", 1, RETURN_LABEL, "carrier", payload, idempotency_key("a1"), at, at)
    with CarrierLabels({"ups": (url, None)}, return_address={"zip": "10001"}, timeout=TIMEOUT) as carrier:
        return carrier.send(label)


def chat_message(url: str) -> SendResult:
    with ChatWebhook(env={"HOOK": f"{url}/services/T000/B000/xyz"}, allow_private=True, timeout=TIMEOUT) as chat:
        return chat.send(OutboxAction("c1", "digest", "", None, "chat", "chat", {"webhook_env": "HOOK", "text": "hi"},
                                      idempotency_key("c1"), START, START))


def smtp_email(url: str, tls: Tls = "none", timeout: float = TIMEOUT) -> SendResult:
    host, port = url.removeprefix("http://").split(":")
    relay = SmtpEmail(host=host, port=int(port), sender="desk@example.com", tls=tls, timeout=timeout)
    return relay.send(email_action("generic", message="Your order"))


@pytest.fixture(params=[False, True], ids=["body", "headers"])
def trickle(request: pytest.FixtureRequest) -> Iterator[Trickle]:
    server = Trickle(HEAD + BODY) if request.param else Trickle(BODY, head=HEAD)
    yield server
    server.close()


@pytest.mark.parametrize("send", [shopify_refund, carrier_label, chat_message], ids=["shopify", "carrier", "chat"])
def test_a_server_that_answers_a_byte_at_a_time_is_given_up_on_after_the_timeout(
    trickle: Trickle, send: Callable[[str], SendResult]
) -> None:
    started = time.monotonic()
    result = send(trickle.url)
    took = time.monotonic() - started

    assert_given_up_on_in_time(result, took)


def test_a_relay_that_greets_a_byte_at_a_time_is_given_up_on_after_the_timeout() -> None:
    relay = Trickle(b"220 relay.example ESMTP ready\r\n" * 3, reads_first=False)
    started = time.monotonic()
    result = smtp_email(relay.url)
    took = time.monotonic() - started
    relay.close()

    assert_given_up_on_in_time(result, took)


def test_an_implicit_tls_relay_that_shakes_hands_a_byte_at_a_time_is_given_up_on_after_the_timeout() -> None:
    relay = Trickle(SERVER_HELLO)
    started = time.monotonic()
    result = smtp_email(relay.url, tls="implicit")
    took = time.monotonic() - started
    relay.close()

    assert_given_up_on_in_time(result, took)


def test_a_starttls_handshake_that_trickles_ends_with_the_conversations_time_not_a_timeout_of_its_own() -> None:
    """The relay greets 0.9 s into a 1 s conversation; TLS's handshake then had a whole timeout of its own."""
    relay = StartTlsRelay(pause=0.9)
    started = time.monotonic()
    result = smtp_email(relay.url, tls="starttls", timeout=1.0)
    took = time.monotonic() - started
    relay.close()

    assert took < 1.5, f"the call took {took:.1f} s with a 1 s timeout: {result}"
    assert isinstance(result, RetryLater) and "timed out" in result.reason, result


def assert_given_up_on_in_time(result: SendResult, took: float) -> None:
    assert took < TIMEOUT + 1.0, f"the call took {took:.1f} s with a {TIMEOUT} s timeout: {result}"
    assert isinstance(result, RetryLater), result
    assert "TIMEOUT" in result.reason.upper() or "timed out" in result.reason, result.reason
