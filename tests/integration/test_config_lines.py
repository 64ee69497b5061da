"""A configuration problem found after ``opsdesk.yaml`` was read (a team lead nobody is, a queue's unknown team, a
duration that is none) points at its line and column as a problem of the file's syntax does: as text
``file:line:column: field: problem``, under ``--format json`` a ``problems`` entry (ADR 0060, session 15).

Before, these were one sentence naming the field's path, with no line: found by the organisation's cross-references
after the file was parsed. Real processes (``python -m opsdesk``) on a real SQLite file, as a script runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import opsdesk

CONFIG = """\
calendars:
  office:
    timezone: Europe/Paris
    hours: {mon: ["09:00-17:00"]}
sla_policies:
  standard:
    calendar: office
    targets: {resolution: 24h}
people:
  ana: {name: Ana, calendar: office, quiet_hours: ["22:00", "07:00"]}
  ben: {name: Ben}
teams:
  ops:
    members: [ana, ben]
    lead: ana
    manager: ben
    calendar: office
queues:
  refunds:
    team: ops
    sla: standard
    sla_by_priority: {high: standard}
ownership:
  default_team: ops
  default_sla: standard
  order_rules:
    - {if: "order.total > 500", owner: ben}
warehouses:
  main:
    lead: ben
discount_guard:
  pause_on: [code_abuse, order_above_max]
readiness:
  skip: [site-speed-monitored]
"""

#: (the field's path, a good text of the file, the same with a bad value, the bad value as written, the problem).
CASES = [
    ("teams.ops.lead", "lead: ana", "lead: zoe", "zoe", "no person 'zoe' under people"),
    ("teams.ops.manager", "manager: ben", "manager: zoe", "zoe", "no person 'zoe' under people"),
    ("teams.ops.members.1", "[ana, ben]", "[ana, zoe]", "zoe", "no person 'zoe' under people"),
    ("teams.ops.calendar", "calendar: office\nqueues", "calendar: mars\nqueues", "mars",
     "no calendar 'mars' (calendars: office)"),
    ("people.ana.calendar", "calendar: office,", "calendar: mars,", "mars", "no calendar 'mars' (calendars: office)"),
    ("people.ana.quiet_hours.0", '["22:00",', '["25:00",', '"25:00"', "'25:00' is not a time of day such as 22:00"),
    ("sla_policies.standard.calendar", "calendar: office\n    targets", "calendar: mars\n    targets", "mars",
     "no calendar 'mars' (calendars: office)"),
    ("sla_policies.standard.targets.resolution", "resolution: 24h", "resolution: 4 days", "4 days",
     "'4 days' is not a duration such as 30m, 4h, 2d"),
    ("queues.refunds.team", "  team: ops", "  team: sales", "sales", "no team 'sales' under teams"),
    ("queues.refunds.sla", "  sla: standard", "  sla: gold", "gold", "no SLA policy 'gold' under sla_policies"),
    ("queues.refunds.sla_by_priority.high", "high: standard", "high: gold", "gold",
     "no SLA policy 'gold' under sla_policies"),
    ("ownership.default_team", "default_team: ops", "default_team: nobody", "nobody", "no team 'nobody' under teams"),
    ("ownership.default_sla", "default_sla: standard", "default_sla: gold", "gold",
     "no SLA policy 'gold' under sla_policies"),
    ("ownership.order_rules.0.owner", "owner: ben", "owner: zoe", "zoe",
     "'zoe' is neither a person under people nor team:<a team under teams>"),
    ("warehouses.main.lead", "lead: ben", "lead: zoe", "zoe", "no person 'zoe' under people"),
    ("discount_guard.pause_on.1", "order_above_max]", "order_above_maks]", "order_above_maks",
     "unknown 'order_above_maks' (known: above_max_percentage, below_cost_floor, code_abuse, "
     "combines_with_other_discounts, no_end_date, no_usage_limit, order_above_max, rate_anomaly, whole_catalogue)"),
]


def _mistype(folder: Path, good: str, bad: str, value: str) -> tuple[str, int, int]:
    """Write ``bad`` in place of ``good`` (once, where it is first written); where ``value`` is: the file, its line
    and column."""
    assert CONFIG.count(good) == 1, good
    text = CONFIG.replace(good, bad)
    (folder / "opsdesk.yaml").write_text(text)
    offset = text.index(bad) + bad.index(value)
    line = text.count("\n", 0, offset) + 1
    return str((folder / "opsdesk.yaml").resolve()), line, offset - text.rfind("\n", 0, offset)


@pytest.mark.parametrize(("at", "good", "bad", "value", "problem"), CASES, ids=[case[0] for case in CASES])
def test_a_problem_found_after_reading_points_at_its_line_in_text_and_json(
    tmp_path: Path, at: str, good: str, bad: str, value: str, problem: str
) -> None:
    file, line, column = _mistype(tmp_path, good, bad, value)
    result = opsdesk("users", "list", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    error = json.loads(result.stderr)
    assert error == {
        "error": f"invalid configuration:\n  {file}:{line}:{column}: {at}: {problem}",
        "problems": [{"file": file, "line": line, "column": column, "at": at, "problem": problem}],
        "exit_code": 2,
    }
    text = opsdesk("users", "list", cwd=tmp_path)
    assert (text.returncode, text.stdout) == (2, "")
    assert f"  {file}:{line}:{column}: {at}: {problem}" in text.stderr.splitlines(), text.stderr


def test_a_calendar_that_cannot_be_built_points_at_the_calendar(tmp_path: Path) -> None:
    (tmp_path / "opsdesk.yaml").write_text(CONFIG.replace("09:00-17:00", "17:00-09:00"))
    result = opsdesk("users", "list", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [problem] = json.loads(result.stderr)["problems"]
    assert (problem["line"], problem["column"], problem["at"]) == (3, 5, "calendars.office")
    assert problem["problem"].startswith("bad interval '17:00-09:00': the end must be after the start")


def test_a_readiness_setting_naming_no_control_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "opsdesk.yaml").write_text(CONFIG.replace("[site-speed-monitored]", "[site-speed-monitord]"))
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [problem] = json.loads(result.stderr)["problems"]
    assert (problem["line"], problem["column"], problem["at"]) == (34, 10, "readiness.skip.0")
    assert problem["problem"].startswith("unknown control 'site-speed-monitord' (known: ")


def test_a_ca_file_that_cannot_be_read_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "opsdesk.yaml").write_text(CONFIG + "connectors:\n  smtp: {tls: implicit, ca_file: relay.pem}\n")
    result = opsdesk("users", "list", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    [problem] = json.loads(result.stderr)["problems"]
    assert (problem["line"], problem["column"], problem["at"]) == (36, 34, "connectors.smtp.ca_file")
    assert problem["problem"].startswith(f"{tmp_path.resolve() / 'relay.pem'}: ")


def test_policy_check_points_at_the_line_of_a_name_the_configuration_does_not_define(tmp_path: Path) -> None:
    file, line, column = _mistype(tmp_path, "lead: ana", "lead: zoe", "zoe")
    (tmp_path / "playbooks").mkdir()
    result = opsdesk("policy", "check", "--format", "JSON", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert json.loads(result.stderr)["problems"] == [
        {"file": file, "line": line, "column": column, "at": "teams.ops.lead",
         "problem": "no person 'zoe' under people"}]
