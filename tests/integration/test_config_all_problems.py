"""``opsdesk check`` reports every problem of ``opsdesk.yaml`` found after reading it in one run, sorted by where
each is written, as a compiler lists its errors: the ops lead fixing a file with five mistakes runs it once, not
five times (ADR 0060, session 15 (2)). A problem another one causes is not reported again: a calendar whose hours
are wrong is reported at the calendar, not also at every policy, team and person naming it.

Before, only the first was reported. Real processes (``python -m opsdesk``) on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import opsdesk
from tests.integration.test_config_lines import CASES, CONFIG

SHOPS = "shops:\n  - {domain: tea.myshopify.com, default_owner: ben}\n"

#: As ``test_config_lines.CASES``: (the field's path, a good text of the file, the same with the mistake, the bad value
#: as written, the problem). Six of its mistakes, independent of each other, and a shop's default owner nobody is.
MISTAKES = [
    *(case for case in CASES if case[0] in {"teams.ops.lead", "queues.refunds.sla", "people.ana.calendar",
                                            "sla_policies.standard.targets.resolution", "warehouses.main.lead",
                                            "discount_guard.pause_on.1"}),
    ("shops.0.default_owner", "default_owner: ben", "default_owner: nobody", "nobody",
     "no person or team 'nobody' (people: ana, ben): the shop's new orders would go to a name nobody is told about"),
]
LEAD = next(case for case in CASES if case[0] == "teams.ops.lead")


def _write(folder: Path, mistakes: list[tuple[str, str, str, str, str]]) -> list[dict[str, object]]:
    """The configuration with each mistake made where its good text is; the problems expected, in the file's order."""
    good_text, text, kept = CONFIG + SHOPS, "", 0
    path = folder / "opsdesk.yaml"
    expected = []
    for at, good, bad, value, problem in sorted(mistakes, key=lambda m: good_text.index(m[1])):
        assert good_text.count(good) == 1, good
        start = good_text.index(good)
        text += good_text[kept:start]
        offset = len(text) + bad.index(value)
        text, kept = text + bad, start + len(good)
        line, column = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
        expected.append({"file": str(path.resolve()), "line": line, "column": column, "at": at, "problem": problem})
    path.write_text(text + good_text[kept:])
    return expected


def _listed(problems: list[dict[str, object]]) -> str:
    return "invalid configuration:\n" + "\n".join(
        f"  {p['file']}:{p['line']}:{p['column']}: {p['at']}: {p['problem']}" for p in problems)


def test_check_reports_every_independent_mistake_in_one_run_in_the_files_order(tmp_path: Path) -> None:
    expected = _write(tmp_path, MISTAKES)
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert json.loads(result.stderr) == {"error": _listed(expected), "problems": expected, "exit_code": 2}
    text = opsdesk("check", "--no-probe", cwd=tmp_path)
    assert (text.returncode, text.stdout) == (2, "")
    assert _listed(expected) in text.stderr, text.stderr


def test_a_command_building_the_desk_refuses_naming_every_problem_of_the_organisation(tmp_path: Path) -> None:
    """The runtime's contract is kept (serve, worker and every command that builds the desk refuse on any problem,
    exit 2), now naming every problem of the organisation; the discount guard's and the warehouses' come once it
    is right (they are wired from it), and a default owner nobody is stays a warning there (session 14)."""
    expected = _write(tmp_path, MISTAKES)
    result = opsdesk("users", "list", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert json.loads(result.stderr)["problems"] == _of_the_organisation(expected)


def test_policy_check_lists_every_problem_of_the_organisation_it_routes_with(tmp_path: Path) -> None:
    expected = _write(tmp_path, MISTAKES)
    (tmp_path / "playbooks").mkdir()
    result = opsdesk("policy", "check", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert json.loads(result.stderr)["problems"] == _of_the_organisation(expected)


def _of_the_organisation(problems: list[dict[str, object]]) -> list[dict[str, object]]:
    return [p for p in problems if str(p["at"]).split(".")[0] not in {"shops", "warehouses", "discount_guard"}]


def test_a_calendar_that_cannot_be_built_is_reported_once_not_at_each_name_using_it(tmp_path: Path) -> None:
    """``office`` is named by the policy, the team and Ana: its hours are what is wrong, not those names."""
    expected = _write(tmp_path, [LEAD])
    path = tmp_path / "opsdesk.yaml"
    path.write_text(path.read_text().replace("09:00-17:00", "17:00-09:00"))
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    calendar, lead = json.loads(result.stderr)["problems"]
    assert (calendar["line"], calendar["column"], calendar["at"]) == (3, 5, "calendars.office")
    assert calendar["problem"].startswith("bad interval '17:00-09:00': the end must be after the start")
    assert lead == expected[0]


def test_a_teams_unknown_calendar_is_reported_at_the_team_not_at_its_members(tmp_path: Path) -> None:
    """Ben has no calendar of his own and would take the team's: the team's is wrong, not Ben."""
    mistakes = [*(case for case in CASES if case[0] == "teams.ops.calendar"),
                ("ownership.order_rules.0", "order_rules:\n    - {if:", "order_rules:\n    - {when:", "when",
                 "a rule has exactly the keys 'if' and 'owner', got ['owner', 'when']")]
    expected = _write(tmp_path, mistakes)
    expected[1]["column"] = 7  # a rule's keys are the rule's problem, written where the rule starts
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert json.loads(result.stderr)["problems"] == expected


def test_every_readiness_name_that_is_no_control_is_reported_at_once(tmp_path: Path) -> None:
    text = CONFIG.replace("[site-speed-monitored]", "[site-speed-monitord, order-owners]")
    (tmp_path / "opsdesk.yaml").write_text(text + "  thresholds:\n    order-owner: {max_unowned: 1}\n"
                                           "    order-owners: {max_unowned_x: 1}\n")
    result = opsdesk("check", "--no-probe", "--format", "json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    problems = json.loads(result.stderr)["problems"]
    assert [(p["line"], p["column"], p["at"], p["problem"].split(" (")[0]) for p in problems] == [
        (34, 10, "readiness.skip.0", "unknown control 'site-speed-monitord'"),
        (36, 5, "readiness.thresholds.order-owner", "unknown control 'order-owner'"),
        (37, 20, "readiness.thresholds.order-owners.max_unowned_x", "unknown 'max_unowned_x'"),
    ]
