"""A backtest of the rule set as it is changes nothing, whatever else the desk decided.

The decision log also holds decisions no playbook file makes: a person's resolution of a case (playbook ``desk``,
event ``case.resolved``) and the built-in monitors' (``monitor.delayed-fulfilment``, ``monitor.stuck-order``, ...).
No candidate rule set can decide those events, so the backtest compared each with "no decision" and reported it
as a change: on the demo's day, the live playbooks against themselves gave "1033 decisions would change" and an
automation rate of 62.6 % before, 90.5 % after. Real processes on a SQLite file, as the ops lead runs it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_backtest import PRICES
from tests.integration.test_cli import init, opsdesk
from tests.samples import order_lifecycle


def test_the_live_playbooks_against_themselves_change_nothing_after_a_person_resolved_a_case(
    tmp_path: Path,
) -> None:
    init(tmp_path)
    lines = [json.dumps(d) for n, price in enumerate(PRICES, 1) for d in order_lifecycle(n, price=price)[:6]]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    assert opsdesk("ingest", "d.jsonl", cwd=tmp_path).returncode == 0
    cases = json.loads(opsdesk("cases", "list", "--format", "json", cwd=tmp_path).stdout)["cases"]
    assert cases, "the returns over the cap escalated"
    # Its holder resolves it: a person on shift, or anyone while it is with its team (the hours are the wall clock's).
    holder = cases[0]["owner"] if not cases[0]["owner"].startswith("team:") else "carol"
    resolved = opsdesk(
        "cases", "resolve", cases[0]["key"], "deny", "--as", holder, "--note", "worn", cwd=tmp_path
    )
    assert resolved.returncode == 0, resolved.stderr

    result = opsdesk("policy", "backtest", "--playbooks", "playbooks", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["changed"], report["changes"]) == (0, [])
    assert report["decisions"]["before"] == report["decisions"]["after"]
    assert report["automation_rate"]["before"] == report["automation_rate"]["after"]
