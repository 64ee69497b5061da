"""Email provider blacklist: customer messages bounce over the threshold -> an incident case, customer
messages throttled and switched to the fallback provider until the recheck.

Driven by Shopify's `orders/paid` sample through the real intake path, a real SQLite file, two local SMTP
stand-ins (the main relay refusing with 550, a fallback relay) and the delayed-fulfilment follow-ups.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.config_playbooks import EmailHealthConfig
from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.outbox import ActionStatus, Delivered
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.ports import Database
from opsdesk.services.cases import CaseHooks
from opsdesk.services.messaging_health import EmailHealth, Route
from tests.integration.fulfilment_harness import START, Run, audit_actions, make_run, paid_order
from tests.samples import delivery

HEALTH = {
    "email_health": {
        "window_minutes": 60,
        "min_messages": 4,
        "bounce_rate": 0.5,
        "recheck_minutes": 3000,
        "throttle_per_hour": 1,
        "fallback_provider": "smtp_backup",
    },
    "stuck_orders": {"enabled": False},
}


@pytest.fixture
def relays() -> Iterator[tuple[FakeSmtp, FakeSmtp]]:
    with FakeSmtp() as main, FakeSmtp() as backup:
        yield main, backup


def four_late_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: FakeSmtp, backup: FakeSmtp
) -> Run:
    fallback = SmtpEmail(host=backup.host, port=backup.port, sender="desk@example.com", timeout=2)
    run = make_run(
        tmp_path, monkeypatch, smtp=main, monitors=HEALTH, extra_connectors={"smtp_backup": fallback}
    )
    run.feed(
        *[
            delivery(
                "orders/paid",
                paid_order(
                    300 + n,
                    email=f"c{n}@example.com",
                    name=f"#{300 + n}",
                    customer={"id": 900 + n, "email": f"c{n}@example.com"},
                ),
                f"w-{n}",
            )
            for n in range(4)
        ]
    )
    run.settle()
    return run


def test_a_bounce_rate_over_the_threshold_opens_an_incident_throttles_and_switches_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relays: tuple[FakeSmtp, FakeSmtp]
) -> None:
    main, backup = relays
    run = four_late_orders(tmp_path, monkeypatch, main, backup)
    main.refuse_next(3, 550)

    run.advance(hours=48)  # four follow-ups fall due: three bounce (550), one is accepted

    [incident] = run.cases(queue="incidents")
    assert (incident.kind, incident.priority, incident.owner) == ("incident", "urgent", "olga")
    assert incident.reason == (
        "3 bounces and 0 complaints in 4 messages within 60 minutes; throttled to 1 per "
        "hour; customer messages switch to smtp_backup"
    )
    assert incident.due_at == START + timedelta(hours=48, minutes=30)
    assert "email.degraded" in audit_actions(run)

    run.advance(hours=24)  # the next round of follow-ups: through the fallback relay, one an hour
    assert len([m for m in backup.messages if m.to.startswith("c")]) == 1
    run.advance(hours=1)
    assert len([m for m in backup.messages if m.to.startswith("c")]) == 2
    assert (
        len([m for m in main.messages if "running late" in m.subject]) == 1
    )  # only round one's accepted one


def test_a_healthy_relay_is_not_degraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relays: tuple[FakeSmtp, FakeSmtp]
) -> None:
    main, backup = relays
    run = four_late_orders(tmp_path, monkeypatch, main, backup)
    main.refuse_next(1, 550)

    run.advance(hours=48)
    run.advance(hours=24)

    assert run.cases(queue="incidents") == []
    assert backup.messages == []
    assert len([m for m in main.messages if "running late" in m.subject]) == 7  # 4 + 4, one bounced


def customer_email(n: int) -> OutboxAction:
    at = START
    return OutboxAction(
        f"a{n}",
        "d",
        "shop.myshopify.com",
        1,
        "email",
        "smtp",
        {"to": f"c{n}@example.com", "template": "delayed_fulfilment", "customer": True},
        f"opsdesk-a{n}",
        at,
        at,
        status=ActionStatus.SENT,
    )


def test_complaints_over_the_rate_degrade_email_on_every_backend(any_db: Database) -> None:
    health = EmailHealth(
        EmailHealthConfig(min_messages=10, complaint_rate=0.2, recheck_minutes=60, throttle_per_hour=0),
        CaseHooks,
    )
    with any_db.unit_of_work() as uow:
        for n in range(10):
            health.on_outcome(uow, customer_email(n), Delivered({}), START)
        health.record_complaint(uow, "shop.myshopify.com", START)
        assert not health.degraded(uow)  # 1 complaint in 10 messages: under 20 %
        health.record_complaint(uow, "shop.myshopify.com", START + timedelta(minutes=1))
        uow.commit()

    with any_db.unit_of_work() as uow:
        assert health.degraded(uow)
        assert health.route(uow, "shop.myshopify.com", START) == Route("smtp", START + timedelta(hours=1))
        [case] = uow.cases.search(CaseFilter(queue="incidents"))
    assert case.reason.startswith("0 bounces and 2 complaints in 10 messages")
