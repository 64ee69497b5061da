"""Customer email over SMTP: one message per action, written from its template (``email_templates.py``), its
Message-ID derived from the action.

The Message-ID is ``<idempotency key@sender domain>`` and the Date is the action's creation time, so a
message sent again after a lost answer is byte-for-byte the same message and the receiving side can
recognise it. Outcomes: accepted -> Delivered; refused connection, disconnect, timeout and SMTP 4xx ->
RetryLater; SMTP 5xx, a missing or malformed recipient, an unknown template -> Rejected. No smtplib or
socket exception leaves this module.

The connection is plain, implicit TLS (``tls="implicit"``, a relay's port 465) or upgraded by STARTTLS; TLS
always verifies the relay's certificate and host name, against the system's CAs or a ``ca_file``. A
certificate that fails verification, a relay without STARTTLS when it is asked for, or one that answers
implicit TLS in plain text, is Rejected: the relay cannot be used as configured, and retrying would not
change that. (A plain or STARTTLS client on an implicit-TLS port waits for a greeting that never comes: a
timeout, RetryLater, as a silent relay is.)

Each message opens its own connection, except inside ``batch()`` (the outbox sender's batch): there the
messages share one connection (per thread), opened by the first and closed with QUIT on leaving. After
any failure the connection is dropped and the next message opens a new one; a kept connection the relay
has closed meanwhile is replaced at once for the message that found it closed. The ``timeout`` bounds each
message's whole conversation, connecting included (``watchdog.py``), not only each read as smtplib's does.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

from opsdesk.connectors.email_templates import TEMPLATES, written
from opsdesk.connectors.watchdog import Watchdog, connect, rewatch
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction
from opsdesk.yamldoc import InvalidField

#: How the connection to the relay is encrypted (``connectors.smtp.tls``).
Tls = Literal["implicit", "starttls", "none"]


class SmtpEmail:
    """Sends ``email`` outbox actions through one SMTP relay."""

    provider = "smtp"
    #: A relay delivers a message sent again (a lost answer, a crash before the outcome was recorded) again:
    #: the outbox records each email's outcome before it sends the next action.
    recognises_repeats = False

    def __init__(self, *, host: str, port: int, sender: str, tls: Tls = "none", ca_file: str | None = None,
                 username: str | None = None, password: str | None = None, timeout: float = 10.0) -> None:
        """``tls``: implicit (TLS from the first byte, port 465), starttls (upgraded after the greeting) or none;
        either TLS verifies the relay's certificate and host name, against ``ca_file`` (PEM) when given,
        instead of the system's CAs."""
        self._host, self._port, self._sender = host, port, sender
        self._tls, self._username, self._password = tls, username, password
        self._timeout = timeout
        self._context = _tls_context(ca_file) if tls != "none" else None
        self._batch = _Batch()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Messages sent from this thread inside share one connection, closed (QUIT) on leaving."""
        if self._batch.open:  # nested: the outer batch owns the connection
            yield
            return
        self._batch.open = True
        try:
            yield
        finally:
            smtp, self._batch.smtp, self._batch.open = self._batch.smtp, None, False
            if smtp is not None:
                _quit(smtp)

    def send(self, action: OutboxAction) -> SendResult:
        try:
            message = self.compose(action)
        except InvalidPayload as exc:
            return Rejected(str(exc))
        try:
            self._deliver_in_time(message)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            return _answer(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as exc:
            return Rejected(f"SMTP relay {self._host}:{self._port} cannot be used as configured: {exc}")
        except ssl.SSLError as exc:
            if exc.reason != "WRONG_VERSION_NUMBER":  # a handshake cut short: worth another try
                return RetryLater(f"SMTP relay {self._host}:{self._port}: {type(exc).__name__}: {exc}")
            # The relay answered TLS's hello in plain text (tls: implicit on a port without it): no retry mends it.
            return Rejected(f"SMTP relay {self._host}:{self._port} does not speak TLS from the first byte "
                            f"(tls: implicit; its port may want starttls): {exc}")
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, disconnected
            return RetryLater(f"SMTP relay {self._host}:{self._port}: {type(exc).__name__}: {exc}")
        return Delivered({"message_id": message["Message-ID"], "to": message["To"],
                          "template": action.payload.get("template") or "generic"})

    def compose(self, action: OutboxAction) -> EmailMessage:
        """The message for an action; raises InvalidPayload when it cannot be written."""
        payload = action.payload
        name = str(payload.get("template") or "generic")
        template = TEMPLATES.get(name)
        if template is None:
            raise InvalidPayload(f"no email template {name!r} (known: {', '.join(sorted(TEMPLATES))})")
        to = str(payload.get("to") or "").strip()
        if "@" not in parseaddr(to)[1]:
            raise InvalidPayload(f"email needs a recipient address, got {to!r}")
        values = {key: str(payload.get(key) or "") for key in template.fields()} | written(template, payload)
        missing = sorted(key for key, value in values.items() if not value)
        if missing:
            raise InvalidPayload(f"template {name!r} needs {', '.join(missing)}")
        subject, body = template.subject.substitute(values), template.body.substitute(values)
        return self._message(action, to, subject, body)

    def _message(self, action: OutboxAction, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        try:
            message["From"], message["To"], message["Subject"] = self._sender, to, subject
        except ValueError as exc:  # a header with a line break: never let a payload add headers
            raise InvalidPayload(f"email header rejected: {exc}") from None
        domain = self._sender.rpartition("@")[2] or "opsdesk.invalid"
        message["Message-ID"] = f"<{action.idempotency_key}@{domain}>"
        message["Date"] = format_datetime(action.created_at)
        message.set_content(body)
        return message

    def _deliver_in_time(self, message: EmailMessage) -> None:
        watchdog = Watchdog(self._timeout)
        try:
            with watchdog:
                self._deliver(message, watchdog)
        except (smtplib.SMTPException, OSError):
            if watchdog.fired:  # whatever the cut-off conversation ended in (half a reply), it ran out of time
                raise TimeoutError(f"timed out after {self._timeout:g} s") from None
            raise

    def _deliver(self, message: EmailMessage, watchdog: Watchdog) -> None:
        if not self._batch.open:
            smtp = self._connect(watchdog)
            try:
                smtp.send_message(message)
            finally:
                _quit(smtp)
            return
        kept, self._batch.smtp = self._batch.smtp, None  # kept again only when this message goes through
        if kept is not None:
            try:
                rewatch(kept, watchdog)
                kept.send_message(message)
            except smtplib.SMTPServerDisconnected:
                # The relay closed the kept connection (an idle timeout, a limit of messages per
                # connection): send on a new one. Were the message accepted before the close, it would go
                # again under the same Message-ID, as the outbox's retry would send it.
                kept.close()
            except BaseException:
                _quit(kept)
                raise
            else:
                self._batch.smtp = kept
                return
        smtp = self._connect(watchdog)
        try:
            smtp.send_message(message)
        except BaseException:
            _quit(smtp)
            raise
        self._batch.smtp = smtp

    def _connect(self, watchdog: Watchdog) -> smtplib.SMTP:
        implicit = self._context if self._tls == "implicit" else None
        smtp = connect(watchdog, self._host, self._port, self._timeout, implicit)
        try:
            if self._tls == "starttls":
                smtp.starttls(context=self._context)
            if self._username:
                smtp.login(self._username, self._password or "")
        except BaseException:
            _quit(smtp)
            raise
        return smtp


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:  # read once, as the desk starts: a wrong file stops it, saying which
        raise InvalidField(["connectors", "smtp", "ca_file"], f"{ca_file}: {exc}") from None


class _Batch(threading.local):
    """This thread's batch: whether one is open, and the connection it keeps."""

    open: bool = False
    smtp: smtplib.SMTP | None = None


def _quit(smtp: smtplib.SMTP) -> None:
    # The message is accepted once DATA is answered 250: a failing QUIT must not make it a retry.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()


def _answer(code: int, text: bytes | str) -> RetryLater | Rejected:
    reason = f"SMTP {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return Rejected(reason) if 500 <= code < 600 else RetryLater(reason)


def _refused(recipients: dict[str, tuple[int, bytes]]) -> RetryLater | Rejected:
    """Every recipient refused: permanent if any refusal was 5xx, else worth another try."""
    answers = [_answer(code, text) for code, text in recipients.values()]
    permanent = [a for a in answers if isinstance(a, Rejected)]
    return permanent[0] if permanent else answers[0] if answers else RetryLater("recipients refused")
