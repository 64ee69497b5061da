"""The last look at a customer email (ADR 0068), by its template, on the order's state through the in-memory unit of
work: the emails that say the order is late lapse once it is cancelled or its money went back in full; the emails
that confirm what was done never lapse, nor does a rule's own; what cannot be judged goes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from opsdesk.domain.records import OutboxAction
from opsdesk.services.address_checks import fingerprint
from opsdesk.services.email_guard import email_lapsed
from opsdesk.testing import InMemoryDatabase
from tests.unit.test_refunded_returns import AT, ORDER, SHOP, fold, placed


def email(template: str, order_id: int | None = ORDER, **payload: Any) -> OutboxAction:
    return OutboxAction("a", "d", SHOP, order_id, "email", "smtp",
                        {"template": template, "to": "a@example.com", **payload}, "k", AT, AT)


def lapsed(sent: OutboxAction, **snapshot: Any) -> str:
    state = fold([placed(1, 0)])
    assert state.snapshot is not None
    db = InMemoryDatabase()
    with db.unit_of_work() as uow:
        uow.orders.put_many([replace(state, snapshot=replace(state.snapshot, **snapshot))])
        uow.commit()
    with db.unit_of_work(read_only=True) as uow:
        return email_lapsed(uow, sent)


@pytest.mark.parametrize(("snapshot", "why"), [
    ({"cancelled_at": AT}, "order #1001 was cancelled"),
    ({"financial_status": "refunded"}, "order #1001 was refunded"),
    ({"financial_status": "voided"}, "order #1001 was voided"),
    ({"financial_status": "partially_refunded"}, ""),  # still owed its goods: still late
    ({}, ""),
])
@pytest.mark.parametrize("template", ["delayed_fulfilment", "follow_up_delayed"])
def test_a_late_order_email_lapses_once_the_order_is_cancelled_or_refunded_in_full(
    template: str, snapshot: dict[str, Any], why: str
) -> None:
    assert lapsed(email(template), **snapshot) == why


@pytest.mark.parametrize("template", ["refund_confirmation", "return_in_hand", "return_label_in_hand", "generic"])
def test_an_email_confirming_what_was_done_or_a_rules_own_never_lapses(template: str) -> None:
    assert lapsed(email(template, message="hello"), cancelled_at=AT, financial_status="refunded") == ""


def test_what_cannot_be_judged_goes() -> None:
    # a carrier email queued before its payload named its scan; a scan named in a shape not understood; an address
    # email before it named the address asked about; an email about no order, or an order not known
    assert lapsed(email("carrier_delay_notice")) == ""
    assert lapsed(email("carrier_needs_buyer", scan={"event_id": "x"})) == ""
    assert lapsed(email("address_confirm", address="1 Main St")) == ""
    assert lapsed(email("delayed_fulfilment", order_id=None), cancelled_at=AT) == ""
    assert lapsed(email("delayed_fulfilment", order_id=ORDER + 1), cancelled_at=AT) == ""


def test_an_address_email_lapses_when_the_address_is_not_the_one_asked_about_or_the_order_was_cancelled() -> None:
    asked = fingerprint(fold([placed(1, 0)]))

    assert lapsed(email("address_confirm", fingerprint=asked)) == ""
    assert lapsed(email("address_confirm", fingerprint=asked), cancelled_at=AT) == "order #1001 was cancelled"
    assert lapsed(email("address_confirm", fingerprint="0000000000000000")) == (
        "the shipping address of order #1001 was changed")


@pytest.mark.parametrize("template", ["generic", "follow_up_delayed", "return_in_hand"])
def test_an_email_is_looked_at_by_its_premise_whatever_its_template(template: str) -> None:
    # a shop's own template for the delayed-fulfilment monitor (session 15 (2)): the premise travels with the email
    assert lapsed(email(template, message="hi", premise="unshipped"), cancelled_at=AT) == "order #1001 was cancelled"
    assert lapsed(email(template, message="hi", premise="unshipped")) == ""


def test_an_email_without_a_premise_is_looked_at_by_its_template_and_a_rules_own_not_at_all() -> None:
    # queued before the premise travelled with it: by its template, as before; a rule's generic email naming none: goes
    assert lapsed(email("delayed_fulfilment"), cancelled_at=AT) == "order #1001 was cancelled"
    assert lapsed(email("generic", message="hi"), cancelled_at=AT) == ""
    assert lapsed(email("generic", message="hi", premise=""), cancelled_at=AT) == ""
