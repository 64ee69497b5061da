"""The "please confirm your address" email waits for its retry (the SMTP stand-in refused the first try); the
customer corrects the address in Shopify meanwhile, the carrier accepts it and the hold is released: the email is
withdrawn, not sent (ADR 0068). Unchanged, it goes once the relay answers. SQLite file and PostgreSQL."""

from __future__ import annotations

import pytest

from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.address.harness import ASK, Desk, answer, effects, paid


@pytest.mark.parametrize("corrected", [True, False])
def test_the_address_email_is_withdrawn_when_the_address_was_corrected_before_it_could_go(
    desk: Desk, carrier: FakeCarrier, smtp: FakeSmtp, shopify: FakeShopifyAdmin, corrected: bool
) -> None:
    run = paid(*desk, carrier, smtp, shopify)
    smtp.refuse_next(1, 421)
    run.settle()  # the carrier refuses the address: the order is held and the customer asked, a retry away
    [asked] = run.actions("email")
    assert (asked.payload["template"], asked.status.value, asked.attempts) == ("address_confirm", "pending", 1)
    if corrected:
        answer(run, 0.001, "w-fixed")  # the customer fixes it in Shopify before the relay answers again
        run.settle()
    run.advance(seconds=10)

    [email] = run.actions("email")
    if not corrected:
        assert (run.customer_mail(smtp), email.status.value) == ([ASK], "sent")
        return
    assert (run.customer_mail(smtp), email.status.value, email.last_error) == (
        [], "withdrawn", "not sent: the shipping address of order #9999 was changed")
    assert (effects(shopify), run.cases()) == (["fulfillmentOrderHold", "fulfillmentOrderReleaseHold"], [])
