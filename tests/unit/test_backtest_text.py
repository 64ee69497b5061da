"""The backtest's text report shows the automation rate from its decision counts, not from the JSON's rate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from opsdesk import cli_backtest


def test_the_rate_is_printed_from_the_counts_not_rounded_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(record=True, width=120)
    monkeypatch.setattr(cli_backtest, "out", console)
    counts = {"automate": 142, "escalate": 15, "ignore": 3}
    data = {
        "since": datetime(1970, 1, 1, tzinfo=UTC), "until": None, "events": 160,  # times typed, as the report
        "decisions": {"before": counts, "after": counts},
        "automation_rate": {"before": 0.9045, "after": 0.9045},  # as the service rounds it: 142 / 157 = 0.90446
        "money": {}, "unavailable_events": 0, "changed": 0, "outcome_changed": 0, "changes": [],
    }
    cli_backtest._print(data, Path("playbooks"))
    row = next(line for line in console.export_text().splitlines() if "automation rate" in line)
    assert [cell.strip() for cell in row.split("│")[2:4]] == ["90.4%", "90.4%"], row
