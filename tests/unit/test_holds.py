"""Which fulfilment holds a release of the desk takes: its own, of the purposes named, by handle or (placed
before handles were named) by reason; never one placed by hand or by another app."""

from __future__ import annotations

from opsdesk.domain.holds import Hold, HoldPurpose, case_holds, describe, handle, purpose_of, released_by

ADDRESS, RISK = HoldPurpose.ADDRESS, HoldPurpose.RISK
UNNAMED = "opsdesk-" + "0123456789abcdef" * 2  # an action's idempotency key: the handle of an older hold


def test_a_hold_is_placed_under_a_handle_that_says_why() -> None:
    assert [handle(purpose_of(r)) for r in ("INCORRECT_ADDRESS", "high_risk_of_fraud", "INVENTORY_OUT_OF_STOCK",
                                            "AWAITING_PAYMENT", "UNKNOWN_DELIVERY_DATE", "")] == [
        "opsdesk-address", "opsdesk-risk", "opsdesk-inventory", "opsdesk-payment", "opsdesk-other", "opsdesk-other"]


def test_a_release_takes_the_desks_holds_of_the_purposes_it_names_only() -> None:
    holds = [Hold("1", "opsdesk-address", "INCORRECT_ADDRESS", True),
             Hold("2", "opsdesk-risk", "HIGH_RISK_OF_FRAUD", True),
             Hold("3", "", "INCORRECT_ADDRESS", False),  # by hand in Shopify
             Hold("4", "opsdesk-address", "INCORRECT_ADDRESS", False),  # another app's handle, like ours
             Hold("5", UNNAMED, "INCORRECT_ADDRESS", True),
             Hold("6", UNNAMED.replace("0", "f"), "HIGH_RISK_OF_FRAUD", True),
             Hold("7", "opsdesk-risk", "INCORRECT_ADDRESS", True)]  # the handle says why, whatever the reason
    assert [h.id for h in holds if released_by(h, [ADDRESS])] == ["1", "5"]
    assert [h.id for h in holds if released_by(h, [RISK])] == ["2", "6", "7"]
    assert [h.id for h in holds if released_by(h, [])] == []


def test_each_case_kind_releases_the_holds_it_is_about() -> None:
    assert (case_holds("address"), case_holds("order"), case_holds("refund")) == ((ADDRESS,), (RISK,), ())
    assert describe(case_holds("fulfilment")) == "the desk's address and out-of-stock holds"
    assert describe([ADDRESS, RISK, HoldPurpose.PAYMENT]) == "the desk's address, fraud and payment holds"
    assert describe([]) == "no hold"
