"""The SMTP connector against a real aiosmtpd server on 127.0.0.1: templates, Message-ID, refusals."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration._servers import email_action

SENDER = "desk@shop.example"


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def email(smtp_server: FakeSmtp) -> SmtpEmail:
    return SmtpEmail(host=smtp_server.host, port=smtp_server.port, sender=SENDER, timeout=2.0)


def test_a_refund_confirmation_arrives_with_its_text_and_a_message_id_from_the_action(
        smtp_server: FakeSmtp, email: SmtpEmail) -> None:
    action = email_action("refund_confirmation")

    result = email.send(action)

    message_id = f"<{action.idempotency_key}@shop.example>"
    assert result == Delivered({"message_id": message_id, "to": "customer@example.com",
                                "template": "refund_confirmation"})
    [message] = smtp_server.messages
    assert (message.mail_from, message.rcpt_tos, message.to, message.subject, message.message_id) == (
        SENDER, ("customer@example.com",), "customer@example.com", "Your refund for order #1001", message_id)
    assert "We have refunded 25.00 EUR for order #1001." in message.body


@pytest.mark.parametrize(("template", "subject", "phrase"), [
    ("return_in_hand", "We have received your return for order #1001", "has arrived at our warehouse"),
    ("follow_up_delayed", "An update on your order #1001", "is taking longer than we promised"),
    ("carrier_delay_notice", "Your order #1001 is delayed in transit", "is delayed on its way"),
    ("carrier_needs_buyer", "The carrier needs something from you for order #1001", "The tracking link"),
    ("generic", "About your order #1001", "Your parcel left the warehouse today."),
])
def test_each_template_is_filled_from_the_payload(
        smtp_server: FakeSmtp, email: SmtpEmail, template: str, subject: str, phrase: str) -> None:
    action = email_action(template, message="Your parcel left the warehouse today.")

    assert isinstance(email.send(action), Delivered)
    [message] = smtp_server.messages
    assert message.subject == subject
    assert phrase in message.body


def test_a_message_sent_again_is_the_same_message(smtp_server: FakeSmtp, email: SmtpEmail) -> None:
    action = email_action("refund_confirmation")

    email.send(action)
    email.send(action)

    first, second = smtp_server.messages
    assert first.raw == second.raw  # same Message-ID and Date: the receiving side can drop the copy


@pytest.mark.parametrize("code", [421, 450])
def test_a_transient_refusal_is_retry_later_and_the_next_try_arrives(
        smtp_server: FakeSmtp, email: SmtpEmail, code: int) -> None:
    smtp_server.refuse_next(1, code)
    action = email_action("refund_confirmation")

    failed = email.send(action)

    assert isinstance(failed, RetryLater)
    assert failed.reason.startswith(f"SMTP {code} 4.")
    assert isinstance(email.send(action), Delivered)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("code", [550, 554])
def test_a_permanent_refusal_is_rejected(smtp_server: FakeSmtp, email: SmtpEmail, code: int) -> None:
    smtp_server.refuse_next(1, code)

    result = email.send(email_action("refund_confirmation"))

    assert isinstance(result, Rejected)
    assert result.reason.startswith(f"SMTP {code} 5.")
    assert smtp_server.messages == []


def test_a_server_that_is_down_is_retry_later() -> None:
    with FakeSmtp() as server:
        host, port = server.host, server.port
    down = SmtpEmail(host=host, port=port, sender=SENDER, timeout=1.0)

    result = down.send(email_action("generic", message="hi"))

    assert isinstance(result, RetryLater)
    assert "ConnectionRefusedError" in result.reason


def test_a_server_that_never_greets_is_retry_later_after_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never speaks
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = SmtpEmail(host="127.0.0.1", port=port, sender=SENDER, timeout=0.3).send(
            email_action("generic", message="hi"))

    assert isinstance(result, RetryLater)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("payload", "reason"), [
    ({"to": ""}, "email needs a recipient address, got ''"),
    ({"to": "not an address"}, "email needs a recipient address, got 'not an address'"),
    ({"template": "welcome"}, "no email template 'welcome' (known: address_confirm, carrier_delay_notice, "
                              "carrier_needs_buyer, delayed_fulfilment, desk_digest, follow_up_delayed, generic, "
                              "refund_confirmation, return_in_hand, return_label_in_hand)"),
    ({"amount": ""}, "template 'refund_confirmation' needs amount"),
])
def test_an_email_that_cannot_be_written_is_rejected_without_connecting(
        payload: dict[str, str], reason: str) -> None:
    nowhere = SmtpEmail(host="127.0.0.1", port=1, sender=SENDER, timeout=0.3)

    assert nowhere.send(email_action(**{"template": "refund_confirmation", **payload})) == Rejected(reason)


def test_a_recipient_with_a_line_break_cannot_add_headers(smtp_server: FakeSmtp, email: SmtpEmail) -> None:
    sneaky = "customer@example.com\r\nBcc: all@example.com"

    result = email.send(email_action("refund_confirmation", to=sneaky))

    assert isinstance(result, Rejected)
    assert smtp_server.messages == []


def test_starttls_against_a_relay_without_it_is_rejected(smtp_server: FakeSmtp) -> None:
    email = SmtpEmail(host=smtp_server.host, port=smtp_server.port, sender=SENDER, tls="starttls", timeout=2.0)

    result = email.send(email_action("refund_confirmation"))

    assert isinstance(result, Rejected)
    assert "STARTTLS" in result.reason


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per SMTP connection opened."""
    opened: list[int] = []
    connect = smtplib.SMTP.connect

    def counting(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        opened.append(1)
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counting)
    return opened


def test_a_batch_sends_its_messages_over_one_connection(
        smtp_server: FakeSmtp, email: SmtpEmail, connections: list[int]) -> None:
    actions = [email_action("generic", message=f"message {n}") for n in range(3)]

    with email.batch():
        results = [email.send(action) for action in actions]

    assert all(isinstance(r, Delivered) for r in results)
    assert [m.body for m in smtp_server.messages] == [f"Hello,\n\nmessage {n}\n" for n in range(3)]
    assert len(connections) == 1
    email.send(actions[0])  # outside a batch: a connection of its own
    assert len(connections) == 2


def test_a_refusal_in_a_batch_drops_the_connection_and_the_next_message_opens_a_new_one(
        smtp_server: FakeSmtp, email: SmtpEmail, connections: list[int]) -> None:
    smtp_server.refuse_next(1, 450)

    with email.batch():
        refused = email.send(email_action("generic", message="first"))
        sent = email.send(email_action("generic", message="second"))

    assert isinstance(refused, RetryLater)
    assert isinstance(sent, Delivered)
    assert [m.body for m in smtp_server.messages] == ["Hello,\n\nsecond\n"]
    assert len(connections) == 2


def test_a_kept_connection_the_relay_closed_is_replaced_for_the_next_message(
        smtp_server: FakeSmtp, email: SmtpEmail, connections: list[int]) -> None:
    with email.batch():
        assert isinstance(email.send(email_action("generic", message="first")), Delivered)
        kept = email._batch.smtp
        assert kept is not None and kept.sock is not None
        kept.sock.shutdown(socket.SHUT_RDWR)  # as when the relay closes an idle connection
        second = email.send(email_action("generic", message="second"))

    assert isinstance(second, Delivered)
    assert [m.body for m in smtp_server.messages] == ["Hello,\n\nfirst\n", "Hello,\n\nsecond\n"]
    assert len(connections) == 2
