"""A scenario's ``carrier_trouble:`` block sets how often parcels meet each carrier trouble.

Before, the shares were a ``Scenario`` field only: the block was refused as an unknown key, so nobody could try
"what if 10 % of parcels need the buyer" without writing Python.
"""

from __future__ import annotations

from collections import Counter

import pytest

from opsdesk.domain.errors import InvalidInput
from opsdesk.simulator.scenario import read_scenario
from opsdesk.simulator.store import Store
from opsdesk.simulator.trouble import ATTEMPTED, BUYER, Shares
from opsdesk.yamldoc import parse
from tests.unit.test_simulated_carrier_trouble import parcels

#: a week of orders followed for three more: most parcels reach their last leg before the horizon
SMALL = (
    "seed: 5\n"
    "history: 7d\n"
    "follow: 21d\n"
    "store: {orders_per_day: 40, products: 20}\n"
)
ONLY_BUYERS = SMALL + (
    "carrier_trouble:\n"
    "  buyer_action: 1.0\n"
    "  returned_to_sender: 0\n"
    "  attempted_delivery: 0\n"
    "  pickup: 0\n"
)


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        read_scenario(parse(text, "day.yaml"))
    return str(caught.value).splitlines()[1:]


def test_a_scenario_with_every_parcel_needing_its_buyer_sends_only_buyer_action_parcels() -> None:
    store = Store(read_scenario(parse(ONLY_BUYERS, "day.yaml")), "secret")
    scans, _ = parcels(store)
    last_leg = {"delivered", "picked_up", ATTEMPTED, "buyer_action_required", "ready_for_pickup"}
    reached = [order for order, s in scans.items() if last_leg.intersection(status for _, status in s)]
    assert reached
    assert Counter(t.path for t in store.truth.trouble) == {BUYER: len(store.truth.trouble)}
    # every parcel that reached its last leg was held for its buyer first: none was delivered at the first attempt
    assert all("buyer_action_required" in {status for _, status in scans[order]} for order in reached)


def test_shares_left_out_keep_their_calibrated_values() -> None:
    scenario = read_scenario(parse(SMALL + "carrier_trouble:\n  buyer_action: 0.1\n  buyer_acts: 0.5\n", "day.yaml"))
    assert scenario.carrier_trouble == Shares(buyer_action=0.1, buyer_acts=0.5)
    assert read_scenario(parse(SMALL, "day.yaml")).carrier_trouble == Shares()


def test_bad_shares_are_each_refused_at_their_line() -> None:
    text = (
        "name: bad\n"
        "carrier_trouble:\n"
        "  buyer_action: 1.5\n"
        "  pickup: -0.1\n"
        "  attempted_delivery: lots\n"
        "  lost_in_the_post: 0.2\n"
        "  buyer_acts: true\n"
    )
    assert _problems(text) == [
        "day.yaml:3:17: expected a share between 0 and 1, got 1.5",
        "day.yaml:4:11: expected a share between 0 and 1, got -0.1",
        "day.yaml:5:23: expected a share between 0 and 1, got 'lots'",
        "day.yaml:6:3: unknown key 'lost_in_the_post' (expected one of: attempted_delivery, buyer_action, "
        "buyer_acts, pickup, returned_to_sender)",
        "day.yaml:7:15: expected a share between 0 and 1, got True",
    ]
    assert _problems("carrier_trouble: 0.1\n") == ["day.yaml:1:18: expected a mapping"]


def test_shares_adding_up_to_more_than_every_parcel_are_refused_at_the_block() -> None:
    """Defaults count too: buyer action at 0.95 with the calibrated 0.075 of the other paths is 1.025."""
    assert _problems("seed: 2\ncarrier_trouble:\n  buyer_action: 0.95\n") == [
        "day.yaml:2:1: expected the parcels' shares (returned_to_sender, buyer_action, attempted_delivery, pickup) "
        "to add up to 1 or less, got 1.025"
    ]
    whole = "carrier_trouble: {buyer_action: 0.5, returned_to_sender: 0.5, attempted_delivery: 0, pickup: 0}\n"
    assert read_scenario(parse(whole, "day.yaml")).carrier_trouble.buyer_action == 0.5


def test_the_same_seed_gives_the_same_deliveries_with_the_block_set() -> None:
    text = SMALL + "carrier_trouble: {buyer_action: 0.2, returned_to_sender: 0.1, buyer_acts: 0.4}\n"
    first = list(Store(read_scenario(parse(text, "day.yaml")), "secret"))
    again = list(Store(read_scenario(parse(text, "day.yaml")), "secret"))
    calibrated = list(Store(read_scenario(parse(SMALL, "day.yaml")), "secret"))
    assert [(d.at, d.topic, d.body) for d in first] == [(d.at, d.topic, d.body) for d in again]
    assert [(d.at, d.topic, d.body) for d in first] != [(d.at, d.topic, d.body) for d in calibrated]
