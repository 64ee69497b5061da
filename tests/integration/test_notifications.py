"""Notifications end to end: a digest through the outbox to a real SMTP server, and the chat webhook
connector against a real HTTP server on 127.0.0.1, with its SSRF guard."""

from __future__ import annotations

import json
import threading
import time as clock
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opsdesk.connectors.chat import ChatWebhook, is_public
from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.org import Org, Person, Queue, Team
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, action_id, idempotency_key
from opsdesk.domain.records import CaseRecord, OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.engine.timers import TimerSweeper
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.ports import Database
from opsdesk.services.assignment import make_on_changed, make_owner_for, timer_handlers
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.notify import DIGEST, Notifier
from opsdesk.testing import ManualClock

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ANA = Person("ana", "Ana", "ana@shop.example", chat_webhook="ANA_CHAT_URL")


@dataclass
class Hook:
    """A chat webhook stand-in: records each POST, answers with the queued replies (then 200 ok)."""

    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    replies: deque[tuple[int, dict[str, str], float]] = field(default_factory=deque)
    url: str = ""


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append((self.path, dict(self.headers.items()), body))
            status, headers, delay = state.replies.popleft() if state.replies else (200, {}, 0.0)
            clock.sleep(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the time-out test)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/xyz"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def chat_action(text: str = "*1 desk notification*\nhello", env: str = "ANA_CHAT_URL") -> OutboxAction:
    aid = action_id("digest:ana:2026-03-02T10:00:00+00:00#abc", 1)
    return OutboxAction(id=aid, decision_id="digest", shop="", order_id=None, kind="chat", provider="chat",
                        payload={"webhook_env": env, "text": text}, idempotency_key=idempotency_key(aid),
                        created_at=START, next_attempt_at=START)


def connector(url: str, *, allow_private: bool = True, timeout: float = 2.0) -> ChatWebhook:
    return ChatWebhook(env={"ANA_CHAT_URL": url}, allow_private=allow_private, timeout=timeout)


def test_a_chat_message_is_posted_as_slack_json_with_the_idempotency_key(hook: Hook) -> None:
    action = chat_action()

    with connector(hook.url) as chat:
        result = chat.send(action)

    assert result == Delivered({"status": 200})
    [(path, headers, body)] = hook.received
    assert path == "/services/T000/B000/xyz"
    assert json.loads(body) == {"text": "*1 desk notification*\nhello"}
    assert (headers["Content-Type"], headers["Idempotency-Key"]) == ("application/json", action.idempotency_key)
    assert headers["Host"] == hook.url.split("/")[2]


def test_a_chat_message_is_recorded_before_the_next_send_as_an_email_is() -> None:
    """The key is sent, but Slack-compatible webhooks ignore it: the outbox must not count on it (ADR 0004)."""
    from opsdesk.engine.outbox import recognises_repeats

    assert not recognises_repeats(ChatWebhook()) and not recognises_repeats(SmtpEmail(host="x", port=1, sender="a@b"))


@pytest.mark.parametrize(("status", "headers", "expected"), [
    (429, {"Retry-After": "7"}, RetryLater("chat webhook answered HTTP 429", 7.0)),
    (503, {}, RetryLater("chat webhook answered HTTP 503", None)),
    (404, {}, Rejected("chat webhook answered HTTP 404: ok")),
    (302, {"Location": "http://169.254.169.254/latest/meta-data/"},
     Rejected("chat webhook answered HTTP 302 (redirects are never followed)")),
])
def test_answers_map_to_retry_or_rejection(
        hook: Hook, status: int, headers: dict[str, str], expected: RetryLater | Rejected) -> None:
    hook.replies.append((status, headers, 0.0))

    with connector(hook.url) as chat:
        assert chat.send(chat_action()) == expected
    assert len(hook.received) == 1  # the redirect was not followed


def test_a_hanging_webhook_is_retried_later(hook: Hook) -> None:
    hook.replies.append((200, {}, 1.0))

    with connector(hook.url, timeout=0.2) as chat:
        result = chat.send(chat_action())

    assert result == RetryLater("chat webhook timed out: ReadTimeout")


def test_a_refused_connection_is_retried_later() -> None:
    with connector("http://127.0.0.1:9/hook") as chat:  # the discard port: nothing listens
        result = chat.send(chat_action())

    assert isinstance(result, RetryLater)
    assert result.reason.startswith("chat webhook: ConnectError")


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://127.0.0.1/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[2002:a00:1::]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://localhost/hook",
    "http://100.64.0.1/hook",
    "http://192.168.1.10:8080/hook",
    "http://172.16.0.1/hook",
    "http://224.0.0.1/hook",
    "https://user@127.0.0.1:443/hook",
])
def test_the_ssrf_guard_refuses_private_addresses_without_the_flag(url: str) -> None:
    with connector(url, allow_private=False) as chat:
        result = chat.send(chat_action())

    assert isinstance(result, Rejected)
    assert "resolves to a non-public address" in result.reason


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True),
    ("2606:4700::1111", True),
    ("::ffff:93.184.215.14", True),  # IPv4-mapped: judged by the IPv4 address it carries
    ("::ffff:10.0.0.1", False),
    ("64:ff9b::5db8:d70e", True),  # NAT64 of 93.184.215.14
    ("2002:5db8:d70e::", True),  # 6to4 of 93.184.215.14
    ("2002:c0a8:0101::", False),  # 6to4 of 192.168.1.1
    ("fe80::1%eth0", False),
    ("fd00::1", False),
])
def test_public_addresses_are_told_from_the_others_in_every_notation(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_the_ssrf_guard_checks_what_a_name_resolves_to() -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]  # one public and one private answer: refused

    chat = ChatWebhook(env={"ANA_CHAT_URL": "https://hooks.example.com/x"}, resolver=rebinding)

    assert chat.send(chat_action()) == Rejected(
        "chat webhook from ANA_CHAT_URL: hooks.example.com resolves to a non-public address (10.1.2.3)")


@pytest.mark.parametrize(("env", "url", "reason"), [
    ("MISSING", "", "no chat webhook URL in the environment variable 'MISSING'"),
    ("ANA_CHAT_URL", "file:///etc/passwd", "only http and https URLs with a host are allowed, not 'file'"),
    ("ANA_CHAT_URL", "gopher://127.0.0.1:70/", "only http and https URLs with a host are allowed, not 'gopher'"),
])
def test_urls_that_are_not_web_hooks_are_rejected(env: str, url: str, reason: str) -> None:
    with connector(url, allow_private=False) as chat:
        result = chat.send(chat_action(env=env))

    assert isinstance(result, Rejected)
    assert result.reason.endswith(reason)


def test_a_digest_arrives_as_one_email_and_one_chat_message_through_the_outbox(
        hook: Hook, any_db: Database) -> None:
    notifier = Notifier(Org(people={"ana": ANA}))
    for i in range(20):  # one transaction each, as the sweep's handlers would
        with any_db.unit_of_work() as uow:
            notifier.notify(uow, "ana", f"SLA warning on case c{i}", f"case c{i} is at 80%",
                            START + timedelta(seconds=i))
            uow.commit()
    due = START + timedelta(minutes=5)
    sweeper = TimerSweeper(any_db, {DIGEST: notifier.send_digest}, ManualClock(due), worker="w")
    assert (sweeper.run_once(), sweeper.stats.fired) == (1, 1)

    with FakeSmtp() as smtp, connector(hook.url) as chat:
        email = SmtpEmail(host=smtp.host, port=smtp.port, sender="desk@shop.example", timeout=2.0)
        sender = OutboxSender(any_db, {"smtp": email, "chat": chat}, ManualClock(due), worker="w")
        assert sender.run_once() == 2
        messages = smtp.messages

    with any_db.unit_of_work() as uow:
        assert (uow.outbox.count("sent"), uow.outbox.count(), uow.timers.count("pending")) == (2, 2, 0)
        assert uow.audit.count() == 21  # 20 held, 1 sent
    [message] = messages
    assert (message.to, message.subject) == (
        "ana@shop.example", "About your order 20 desk notifications: SLA warning on case c0")
    assert message.body.count("\n- 2026-03-02 10:") == 20
    assert "SLA warning on case c19\n  case c19 is at 80%" in message.body
    [(_, _, body)] = hook.received
    assert json.loads(body)["text"].startswith("*20 desk notifications: SLA warning on case c0*\n- 2026")


def test_the_return_timer_takes_a_case_back_and_tells_everyone_on_every_backend(any_db: Database) -> None:
    people = {pid: Person(pid, pid.title(), f"{pid}@shop.example") for pid in ("ana", "ben", "lea")}
    org = Org(people=people, teams={"support": Team("support", ("ana", "ben"), lead="lea")},
              queues={"refunds": Queue("refunds", "support")})
    notifier = Notifier(org)
    hooks = CaseHooks(owner_for=make_owner_for(org), on_changed=make_on_changed(org, notifier))
    handlers = timer_handlers(org, lambda: hooks, notifier)
    with any_db.unit_of_work() as uow:
        record = CaseRecord("c1", "demo.myshopify.com", "refund", "refunds", "Refund", "over the cap", START)
        assert open_case(uow, record, hooks, START).owner == "ana"
        uow.commit()
    fired = START + timedelta(minutes=60)

    sweeper = TimerSweeper(any_db, handlers, ManualClock(fired), worker="sweeper")
    assert sweeper.run_once() == 2  # ana's digest (due 10:05) and her return timer
    assert (sweeper.stats.fired, sweeper.stats.failed, sweeper.stats.lost) == (2, 0, 0)

    with any_db.unit_of_work() as uow:
        assert uow.cases.get("c1").owner == "ben"
        next_return = fired + timedelta(minutes=60)
        assert [(t.id, t.due_at) for t in uow.timers.pending("c1")] == [("c1:return", next_return)]
        assert [t.payload["items"][0]["subject"] for t in uow.timers.pending("person:lea")] == [
            "Case C-1 went from ana to ben: no action in 60 minutes"]
        assert [t.payload["items"][0]["subject"] for t in uow.timers.pending("person:ben")] == [
            "Case C-1 is now yours: Refund"]
