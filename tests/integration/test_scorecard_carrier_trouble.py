"""The carrier's troubles through the real desk (SQLite file, stand-ins, virtual clock): the scorecard's section.

The paths' shares are raised for the run (a few % of a small store's parcels would be none at all); everything
else is the simulator's and the starter configuration's: the carrier-delays playbook emails the buyer at once,
the buyer-action monitor opens a case 72 hours on, a parcel going back to the store is a case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.simulator.runner import OUTSIDE_DAY
from opsdesk.simulator.scenario import Staffing, load_scenario
from opsdesk.simulator.trouble import Shares
from tests.integration.test_simulator_run import TINY, run

TROUBLED = replace(TINY, seed=21, history=timedelta(days=10), follow=timedelta(days=10), orders_per_day=25,
                   tick=timedelta(minutes=30), incidents=(), staffing=Staffing(people=("alice", "bob")),
                   carrier_trouble=Shares(returned_to_sender=0.12, buyer_action=0.3, attempted_delivery=0.15,
                                          pickup=0.15, buyer_acts=0.5))


def test_the_scorecard_says_how_the_desk_handled_each_kind_of_carrier_trouble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = run(tmp_path / "desk", monkeypatch, TROUBLED)
    section = card["carrier_trouble"]
    assert all(section["parcels"].values()), section
    buyer, back = section["buyer_action"], section["returned_to_sender"]
    # every buyer told at once; every parcel left waiting past the threshold got its case, and none other did
    assert buyer["customer_emailed"] == buyer["parcels"] > 0 and buyer["not_emailed"] == []
    # queued at the first tick after the scan reached the desk (ticks are coarser outside the scored day)
    assert buyer["emailed_after_seconds"]["max"] <= (TROUBLED.tick * OUTSIDE_DAY + timedelta(minutes=6)).total_seconds()
    assert buyer["still_waiting_with_a_case"] == buyer["still_waiting"] > 0, buyer
    assert buyer["buyer_acted"] > 0 and buyer["still_waiting_after_hours"] == 72
    assert back["with_a_case"] == back["parcels"] > 0 and back["without_a_case"] == [], back
    assert section["cases_not_needed"] == {"count": 0, "orders": []}
    assert card["run"]["pipeline"]["failed"] == 0


def test_the_shipped_carrier_meltdown_shows_the_desk_emailing_buyers_and_opening_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The built-in ``carrier-meltdown`` as shipped (its YAML's ``carrier_trouble`` shares), the store made small."""
    meltdown = load_scenario("carrier-meltdown")
    assert meltdown.carrier_trouble == Shares(returned_to_sender=0.03, buyer_action=0.1, attempted_delivery=0.12,
                                              pickup=0.08, buyer_acts=0.6)
    card = run(tmp_path / "desk", monkeypatch, replace(meltdown, orders_per_day=45, tick=timedelta(minutes=30)))
    section = card["carrier_trouble"]
    parcels, buyer = section["parcels"], section["buyer_action"]
    # ten times the calibrated 1 % of parcels held for their buyer: more of them than failed first attempts at 12 %
    assert all(parcels.values()) and parcels["buyer_action"] >= 0.5 * parcels["attempted_delivery"], parcels
    assert buyer["customer_emailed"] == buyer["parcels"] and buyer["not_emailed"] == []
    assert buyer["still_waiting_with_a_case"] == buyer["still_waiting"] > 0, buyer
    back = section["returned_to_sender"]
    assert back["with_a_case"] == back["parcels"] > 0 and back["without_a_case"] == [], back
    assert section["cases_not_needed"] == {"count": 0, "orders": []}
