"""A customer email whose reason passed while it waited to go is withdrawn, not sent (ADR 0068).

The SMTP stand-in (aiosmtpd) refuses the first try, so the email waits for its retry; meanwhile the order or its
parcel moves on; then SMTP answers again. Through the composition root on a SQLite file and PostgreSQL, from
Shopify's sample payloads: nothing reaches the customer, the action shows ``withdrawn`` with its reason (the order
page too), ``opsdesk_outbox_actions_total{outcome="withdrawn"}`` counts it, and no case opens. When nothing moved
on, the same email goes once SMTP answers.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opsdesk.domain.records import OutboxAction
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services import users
from opsdesk.web.app import create_app
from tests.integration import test_carrier_scan_order
from tests.integration.dashboard_harness import PASSWORD, sign_in
from tests.integration.fulfilment_harness import (
    ORDER_ID,
    Run,
    db_url_fixture,  # noqa: F401  (the db_url fixture)
    paid_order,
)
from tests.integration.metrics_harness import series
from tests.integration.order_scenarios import MONDAY_9AM, Scenario, database_url, order, order_id_of
from tests.integration.test_carrier_scan_order import carrier_delays_only
from tests.integration.test_carrier_trouble_playbook import scan
from tests.integration.test_followups import FOLLOWUPS, LATE, run_with, shipment
from tests.integration.test_fulfilment_tracking_shown import fulfilment
from tests.samples import SHOP, delivery

DELAYED = "Your order #1001 is delayed in transit"
NEEDED = "The carrier needs something from you for order #1001"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scenario(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from carrier_delays_only(tmp_path, monkeypatch, database_url(request, tmp_path))


def shipped_then(scenario: Scenario, status: str) -> None:
    """Order 1 shipped; three hours later the carrier scans ``status`` while the relay refuses the first try."""
    scenario.deliver("orders/create", order(1, MONDAY_9AM))
    scenario.deliver("fulfillments/create", fulfilment("fulfillments/create", 0.5))
    scenario.later(hours=3)
    scenario.smtp.refuse_next(1, 421)
    scenario.deliver("fulfillment_events/create", scan(status, 1, 1))
    scenario.work()


def emails(actions: list[OutboxAction]) -> list[tuple[str, str, int, str]]:
    return [(str(a.payload["template"]), a.status.value, a.attempts, a.last_error) for a in actions
            if a.kind == "email"]


def withdrawn_count(scenario: Scenario) -> float:
    return series(scenario.desk.metrics.render().decode(), "opsdesk_outbox_actions", "outcome").get("withdrawn", 0.0)


@pytest.mark.parametrize(("status", "template", "moved"), [
    ("delayed", "carrier_delay_notice", "in_transit"),
    ("delayed", "carrier_delay_notice", "delivered"),
    ("buyer_action_required", "carrier_needs_buyer", "out_for_delivery"),
    ("buyer_action_required", "carrier_needs_buyer", "returning_to_sender"),
])
def test_a_carrier_email_is_withdrawn_when_the_parcel_moved_on_before_it_could_go(
    scenario: Scenario, status: str, template: str, moved: str
) -> None:
    shipped_then(scenario, status)
    assert emails(scenario.actions(order_id_of(1)))[0][:3] == (template, "pending", 1)  # refused once: a retry

    scenario.deliver("fulfillment_events/create", scan(moved, 2, 2))  # an hour after the scan, delivered now
    scenario.later(minutes=5)

    why = (f"not sent: fulfilment 123456 was {moved} at 2026-03-02T16:00:00+00:00, after the carrier's {status} "
           "scan of 2026-03-02T15:00:00+00:00")
    assert emails(scenario.actions(order_id_of(1))) == [(template, "withdrawn", 1, why)]
    assert (scenario.mail_to("c1@example.com"), withdrawn_count(scenario)) == ([], 1)
    assert [c.queue for c in scenario.cases() if c.source.startswith("action:")] == []


@pytest.mark.parametrize(("status", "subject"), [("delayed", DELAYED), ("buyer_action_required", NEEDED)])
def test_a_carrier_email_whose_parcel_has_not_moved_goes_once_the_relay_answers(
    scenario: Scenario, status: str, subject: str
) -> None:
    shipped_then(scenario, status)
    scenario.deliver("fulfillment_events/create", scan(status, 2, 0.5))  # an older scan of the same: nothing moved
    scenario.later(minutes=5)

    assert [m.subject for m in scenario.mail_to("c1@example.com")] == [subject]
    assert [s for _t, s, _n, _e in emails(scenario.actions(order_id_of(1)))] == ["sent"]
    assert withdrawn_count(scenario) == 0


def test_a_buyer_email_still_goes_when_the_held_parcel_is_then_scanned_delayed(scenario: Scenario) -> None:
    """A delay is trouble, not movement: the parcel still waits for the buyer (``buyer_waits.STILL_WAITING``, the
    buyer-action monitor's reading too)."""
    shipped_then(scenario, "buyer_action_required")
    scenario.deliver("fulfillment_events/create", scan("delayed", 2, 2))
    scenario.later(minutes=5)

    assert NEEDED in [m.subject for m in scenario.mail_to("c1@example.com")]
    assert [s for t, s, _n, _e in emails(scenario.actions(order_id_of(1))) if t == "carrier_needs_buyer"] == ["sent"]


def test_a_delay_email_is_withdrawn_when_its_scan_was_deleted(scenario: Scenario) -> None:
    shipped_then(scenario, "delayed")
    scenario.deliver("fulfillment_events/delete",
                     test_carrier_scan_order.scan("fulfillment_events/delete", "delayed", 1, 1))
    scenario.later(minutes=5)

    [(_, status, _, why)] = emails(scenario.actions(order_id_of(1)))
    assert (status, why) == ("withdrawn", "not sent: the carrier's delayed scan of 2026-03-02T15:00:00+00:00 "
                                          "(fulfilment 123456) was deleted")
    assert scenario.mail_to("c1@example.com") == []


def order_page(run: Run) -> str:
    with run.desk.db.unit_of_work() as uow:
        users.add_user(uow, "olga", PASSWORD, "Olga", {"*": "agent"}, "olga", now=run.clock.now())
        uow.commit()
    with TestClient(create_app(run.desk, background=False), base_url="http://127.0.0.1") as client:
        sign_in(client, "olga")
        return html.unescape(client.get(f"/orders/{SHOP}/{ORDER_ID}").text)


@pytest.mark.parametrize("ships", [True, False])
def test_a_late_order_email_is_withdrawn_when_the_order_shipped_before_it_could_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, ships: bool
) -> None:
    with FakeSmtp() as smtp:
        run = run_with(tmp_path, monkeypatch, smtp, database_url=db_url)
        run.feed(delivery("orders/paid", paid_order(), "w-paid"))
        run.settle()
        smtp.refuse_next(1, 421)
        run.advance(hours=48)  # the ship-by time: the follow-up is decided, the relay refuses its first try
        assert [(a.status.value, a.attempts) for a in run.actions("email")] == [("pending", 1)]
        if ships:
            run.feed(delivery("fulfillments/create", shipment(), "w-shipped"))
            run.settle()
        run.advance(seconds=10)
        [email] = run.actions("email")
        mail, page = run.customer_mail(smtp), order_page(run)

    if not ships:
        assert (mail, email.status.value) == ([LATE], "sent")
        return
    assert (mail, email.status.value, email.attempts) == ([], "withdrawn", 1)
    assert email.last_error == "not sent: order #9999 has shipped"
    assert email.history[-1]["outcome"] == "withdrawn"
    assert "withdrawn" in page and "not sent: order #9999 has shipped" in page
    assert [c for c in run.cases() if c.queue == "automation"] == []



@pytest.mark.parametrize("ships", [True, False])
def test_a_late_order_email_in_the_shops_own_words_is_withdrawn_when_the_order_shipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, ships: bool
) -> None:
    # ``monitors.delayed_fulfilment.template: generic`` with its ``message``: the premise travels with the email
    # (``premise: unshipped``), not with its template (ADR 0068, session 15 (2)).
    with FakeSmtp() as smtp:
        run = run_with(tmp_path, monkeypatch, smtp, database_url=db_url,
                       delayed_fulfilment={**FOLLOWUPS["delayed_fulfilment"], "template": "generic",
                                           "message": "Your parcel is late; we are on it."})
        run.feed(delivery("orders/paid", paid_order(), "w-paid"))
        run.settle()
        smtp.refuse_next(1, 421)
        run.advance(hours=48)
        if ships:
            run.feed(delivery("fulfillments/create", shipment(), "w-shipped"))
            run.settle()
        run.advance(seconds=10)
        [email] = run.actions("email")
        mail = [(m.subject, m.body) for m in smtp.messages]

    if not ships:
        assert (mail, email.status.value) == ([("About your order #9999", "Hello,\n\nYour parcel is late; we are on "
                                                "it.\n")], "sent")
        return
    assert (mail, email.payload["template"], email.status.value) == ([], "generic", "withdrawn")
    assert email.last_error == "not sent: order #9999 has shipped"
