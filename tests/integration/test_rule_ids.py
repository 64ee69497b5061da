"""A rule id the desk cannot record stops `opsdesk policy check` and the start-up, named where it is written.

Loaded, such a rule would fail later and quietly: a rule id longer than ``decisions.rule_id`` (128) is
refused by PostgreSQL at the rule's first decision (a failed delivery, ADR 0030), and a ``|`` in it hides its
guardrail counters from the usage retention sweep.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.errors import InvalidPolicy
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import starter_with_refund_rule


@pytest.mark.parametrize("rule", ["r" * 129, "auto-refund|eu"], ids=["too-long", "bar"])
def test_a_rule_id_a_decision_cannot_record_fails_the_check_and_the_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str
) -> None:
    playbooks = starter_with_refund_rule(tmp_path, rule)
    where = f"{playbooks / 'refunds.yaml'}:11:9: 'id' "

    checked = CliRunner().invoke(cli, ["policy", "check", str(playbooks), "--format", "json"])
    assert checked.exit_code == 1, checked.output
    [problem] = json.loads(checked.output)["problems"]
    assert (problem["file"], problem["line"], problem["column"], problem["at"]) == (
        str(playbooks / "refunds.yaml"), 11, 9, "rules.0.id")
    assert problem["problem"].startswith("'id' ")
    with pytest.raises(InvalidPolicy) as refused:
        make_desk(tmp_path, monkeypatch, playbooks=str(playbooks))
    assert where in str(refused.value)


#: The playbooks the desk records its own decisions, cases and audit under (services/*.py ``PLAYBOOK``).
DESK_PLAYBOOKS = ["desk", "stuck-order", "address-validation", "return-labels", "delayed-fulfilment",
                  "carrier-pickup-cutoff", "discount-guard"]


@pytest.mark.parametrize("name", DESK_PLAYBOOKS)
def test_a_playbook_named_as_one_of_the_desks_own_fails_the_check_and_the_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    playbooks = starter_with_refund_rule(tmp_path, "auto-refund-simple-purchase-error")
    refunds = playbooks / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace("playbook: refunds", f"playbook: {name}"))
    where = f"{refunds}:5:11: 'playbook' may not be {name!r}: it is "

    checked = CliRunner().invoke(cli, ["policy", "check", str(playbooks), "--format", "json"])
    assert checked.exit_code == 1, checked.output
    [problem] = json.loads(checked.output)["problems"]
    assert (problem["file"], problem["line"], problem["column"], problem["at"]) == (str(refunds), 5, 11, "playbook")
    assert f"{refunds}:5:11: {problem['problem']}".startswith(where)
    assert problem["problem"].endswith("a playbook of yours named so would be mixed with it")
    with pytest.raises(InvalidPolicy) as refused:
        make_desk(tmp_path, monkeypatch, playbooks=str(playbooks))
    assert where in str(refused.value)
