"""The scorecard judges an incident by what the desk could see of it, as the audit of 2026-11-29 found it did not.

The shipped ``black-friday`` day with its store made small (30 orders a day) and its history and follow-up short:

- its 30-minute payment gateway stall held up three card orders, each paid again 14 to 30 minutes after it
  was placed: all before the desk's payment check, which looks at an order still pending after
  ``order_playbooks.payment_pending_minutes`` (30). Nothing the desk is built to see happened, yet the card read
  "NOT caught" with 250.88 at risk.
- its label API outage made the desk's address checks to the carrier fail for good: two ``automation_failure``
  cases, which the card counted as escalations not needed, while it called the outage "no order harmed". Once
  they counted as harmed, the card still put 0.00 at risk for them (audit of session 13): an order the other
  incidents hold up counts at its total, and these two orders can ship only once their address is checked.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from opsdesk.cli_scorecard import print_scorecard
from tests.samples import SECRET

BLACK_FRIDAY = (Path(__file__).parents[2] / "src/opsdesk/starter/scenarios/black-friday.yaml").read_text()
SMALL = (
    BLACK_FRIDAY.replace("history: 9d", "history: 2d")
    .replace("follow: 2d", "follow: 1d")
    .replace("orders_per_day: 250", "orders_per_day: 30")
)


def _simulate(folder: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSDESK_")}
    env |= {"OPSDESK_SHOPIFY_SECRET": SECRET, "COLUMNS": "120"}
    opsdesk = [sys.executable, "-m", "opsdesk"]
    init = [*opsdesk, "init", str(folder), "--database-url", f"sqlite:///{folder / 'store.db'}"]
    subprocess.run(init, cwd=folder, env=env, capture_output=True, timeout=60, check=True)
    (folder / "day.yaml").write_text(SMALL)
    command = [*opsdesk, "simulate", "--scenario", str(folder / "day.yaml"), "--format", "json",
               "--config", str(folder / "opsdesk.yaml"), "--database-url", f"sqlite:///{folder / 'day.db'}"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The small Black Friday's scorecard (JSON), its ground truth and the scorecard's text."""
    folder = tmp_path_factory.mktemp("small-black-friday")
    card = json.loads(_simulate(folder))
    out = Console(width=120, record=True, file=io.StringIO())
    print_scorecard(card, out)
    return card, json.loads((folder / "day.db.truth.json").read_text()), out.export_text()


def _incident(card: dict[str, Any], kind: str) -> dict[str, Any]:
    [incident] = [i for i in card["incidents"] if i["kind"] == kind]
    return incident


def _row(text: str, kind: str) -> list[str]:
    """The words of an incident's row in the scorecard's text."""
    name = kind.replace("_", " ")
    return next(line for line in text.splitlines() if line.strip().startswith(name)).split()


def test_a_stall_over_before_the_desks_payment_check_reads_as_such_not_as_missed(
    day: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    card, truth, text = day
    stall = _incident(card, "payment_gateway_stall")
    judged = ("affected_orders", "money_at_risk_total", "caught")
    judged += ("desk_looks_after_seconds", "over_before_the_desk_looked")
    assert [stall[key] for key in judged] == [3, "250.88", False, 1800, True]
    # The truth says when each stalled order was paid at last: the scorecard judges from that.
    recorded = _incident(truth, "payment_gateway_stall")
    assert sorted(recorded["cleared"]) == sorted(str(order_id) for _, order_id, _ in recorded["affected"])

    assert _row(text, "payment_gateway_stall")[3:] == ["09:30", "over", "in", "<", "30m", "-", "250.88"]
    assert "NOT caught" not in text
    assert "incidents: 4 of 7 caught (2 harmed no order, 1 over before the desk looked)" in text


def test_the_label_outages_failed_address_checks_are_its_harm_and_their_cases_catch_it(
    day: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    card, _, text = day
    outage = _incident(card, "label_api_outage")
    assert (outage["affected_orders"], outage["caught"]) == (2, True)
    assert (outage["caught_by"].split(" (")[0], outage["signals"]) == ("automation_failure case in automation", 2)
    assert card["cases_by_kind"]["automation_failure"] == 2
    assert card["unneeded_escalations"] == {"count": 0, "orders": []}
    # The two orders' totals as their orders/create said (43.79 and 507.61, read from the stored deliveries by
    # hand): both calls had failed by the first case, 17:10.
    assert (outage["money_at_risk_total"], outage["money_at_risk_when_caught"]) == ("551.40", "551.40")
    assert _row(text, "label_api_outage") == ["label", "api", "outage", "11:00", "1h10m", "551.40", "551.40"]
