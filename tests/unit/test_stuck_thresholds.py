"""How long an order may sit in a state before it is stuck: the state's threshold, or for an unpaid order
the longest of its slow payment gateways' (``monitors.stuck_orders.pending_by_gateway``)."""

from __future__ import annotations

import pytest

from opsdesk.config_playbooks import StuckOrdersConfig
from opsdesk.services.stuck import threshold

SETTINGS = StuckOrdersConfig(
    thresholds={"pending": 24, "paid": 72},
    pending_by_gateway={"manual": 96, "Cash on Delivery (COD)": 72, "shopify_payments": 2},
)


@pytest.mark.parametrize(
    ("stage", "gateways", "expected"),
    [
        ("pending", [], (24, "")),
        ("pending", ["paypal"], (24, "")),  # no match: the state's own
        ("pending", ["MANUAL"], (96, "MANUAL")),  # in any case
        ("pending", ["cash on delivery (cod)"], (72, "cash on delivery (cod)")),
        ("pending", ["gift_card", "Cash on Delivery (COD)", "manual"], (96, "manual")),  # the longest
        ("pending", ["shopify_payments"], (2, "shopify_payments")),  # a gateway may be given less time too
        ("paid", ["manual"], (72, "")),  # only the wait for the payment depends on how it is paid
        ("fulfilled", ["manual"], None),  # a state left out is not watched
    ],
)
def test_the_threshold_of_an_order_depends_on_its_state_and_while_unpaid_on_its_payment_gateways(
    stage: str, gateways: list[str], expected: tuple[float, str] | None
) -> None:
    assert threshold(SETTINGS, stage, gateways) == expected


def test_unpaid_orders_are_not_watched_at_all_when_pending_is_left_out_whatever_their_gateway() -> None:
    settings = StuckOrdersConfig(thresholds={"paid": 72}, pending_by_gateway={"manual": 96})

    assert threshold(settings, "pending", ["manual"]) is None


def test_the_default_gives_slow_manual_methods_days_and_cash_on_delivery_the_wait_of_a_paid_order() -> None:
    settings = StuckOrdersConfig()

    assert [threshold(settings, "pending", [name]) for name in ("shopify_payments", "manual", "Bank Deposit",
                                                                  "Cash on Delivery (COD)")] == [
        (24, ""), (96, "manual"), (96, "Bank Deposit"), (72, "Cash on Delivery (COD)")
    ]
    assert settings.thresholds["paid"] == 72
