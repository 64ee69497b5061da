"""The organisation from ``opsdesk.yaml``: the worked example of the how-to, and errors naming the key."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsdesk.config import FileConfig, load_file
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org, Queue, Team
from opsdesk.organisation import build_org
from opsdesk.yamldoc import InvalidFields

HOW_TO = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "owners-and-teams.md"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def worked_example() -> str:
    """The ``opsdesk.yaml`` section of the how-to page, so the page cannot drift from what loads."""
    match = re.search(r"```yaml\n(# opsdesk\.yaml.*?)```", HOW_TO.read_text(), re.DOTALL)
    assert match, "the how-to page lost its worked example"
    return match.group(1)


def load(tmp_path: Path, text: str) -> Org:
    path = tmp_path / "opsdesk.yaml"
    path.write_text(text)
    return build_org(load_file(path), NOW)


def example() -> dict[str, Any]:
    data = yaml.safe_load(worked_example())
    assert isinstance(data, dict)
    return data


def test_the_worked_example_builds_people_teams_queues_and_rules(tmp_path: Path) -> None:
    org = load(tmp_path, worked_example())

    assert org.teams["support"] == Team("support", ("ana", "ben", "chloe"), "lea", "max", ("ben", "ana"))
    assert org.queues["refunds"] == Queue("refunds", "support", "refunds", {"high": "refunds-urgent"},
                                          "least_loaded", frozenset({"refunds"}))
    assert org.queues["disputes"].assignment == "round_robin"
    ana, chloe = org.people["ana"], org.people["chloe"]
    assert (ana.skills, ana.quiet_hours, ana.chat_webhook) == (
        frozenset({"refunds", "french"}), (time(22), time(7)), "OPSDESK_CHAT_ANA")
    assert ana.calendar is not None and ana.calendar.timezone == "Europe/Paris"
    assert chloe.calendar is not None and chloe.calendar.timezone == "America/New_York"  # the team's
    assert org.return_timer == timedelta(minutes=45)
    assert org.order_rules == (("order.total > 500", "team:vip"), ("'wholesale' in order.tags", "ben"))
    urgent = org.sla_for("refunds", "high")
    assert urgent is not None and urgent.name == "refunds-urgent"


def test_a_person_without_their_own_calendar_works_the_hours_of_their_team(tmp_path: Path) -> None:
    org = load(tmp_path, worked_example())

    chloe = org.people["chloe"]
    assert chloe.on_shift(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 10:00 in New York
    assert not chloe.on_shift(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))  # 08:00 in New York


def change(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with the value at a dotted ``path`` (list items by index) replaced by ``value``."""
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("queues.refunds.team", "sales", "queues.refunds.team: no team 'sales' under teams"),
    ("queues.refunds.sla", "gold", "queues.refunds.sla: no SLA policy 'gold' under sla_policies"),
    ("queues.refunds.sla_by_priority.high", "gold",
     "queues.refunds.sla_by_priority.high: no SLA policy 'gold' under sla_policies"),
    ("teams.support.members.2", "zoe", "teams.support.members.2: no person 'zoe' under people"),
    ("teams.support.lead", "zoe", "teams.support.lead: no person 'zoe' under people"),
    ("teams.support.on_call.0", "zoe", "teams.support.on_call.0: no person 'zoe' under people"),
    ("teams.support.calendar", "mars", "teams.support.calendar: no calendar 'mars' (calendars: new-york, paris)"),
    ("people.ana.calendar", "mars", "people.ana.calendar: no calendar 'mars' (calendars: new-york, paris)"),
    ("people.ana.quiet_hours", ["25:00", "07:00"],
     "people.ana.quiet_hours.0: '25:00' is not a time of day such as 22:00"),
    ("people.ana.quiet_hours", ["22:00", "22:00"],
     "people.ana.quiet_hours: quiet hours must start and end at different times, got '22:00' twice"),
    ("sla_policies.refunds.targets.first_response", "4 hours",
     "sla_policies.refunds.targets.first_response: '4 hours' is not a duration such as 30m, 4h, 2d"),
    ("sla_policies.refunds.calendar", "mars", "sla_policies.refunds.calendar: no calendar 'mars'"),
    ("ownership.default_team", "nobody", "ownership.default_team: no team 'nobody' under teams"),
    ("ownership.order_rules.0", {"if": "order.total >", "owner": "team:vip"},
     "ownership.order_rules.0.if: Failed to parse expression 'order.total >'"),
    ("ownership.order_rules.1", {"if": "true", "owner": "zoe"},
     "ownership.order_rules.1.owner: 'zoe' is neither a person under people nor team:<a team under teams>"),
    ("ownership.order_rules.1", {"if": "true", "owner": "team:sales"},
     "ownership.order_rules.1.owner: 'team:sales' is neither a person"),
    ("ownership.order_rules.0", {"if": "true", "then": "ben"},
     "ownership.order_rules.0: a rule has exactly the keys 'if' and 'owner', got ['if', 'then']"),
])
def test_a_bad_reference_is_refused_naming_its_key(tmp_path: Path, path: str, value: Any, message: str) -> None:
    data = change(example(), path, value)

    with pytest.raises(InvalidInput) as caught:
        build_org(FileConfig.model_validate(data), NOW)

    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("path", "value", "message"), [
    ("queues.refunds.assignment", "fastest", "queues.refunds.assignment: Input should be 'round_robin' or "),
    ("ownership.return_timer_minutes", 0, "ownership.return_timer_minutes: Input should be greater than"),
    ("people.ana", {"name": "Ana", "skils": ["refunds"]}, "people.ana.skils: unknown key"),
])
def test_a_malformed_section_is_refused_with_file_line_and_key(
        tmp_path: Path, path: str, value: Any, message: str) -> None:
    path_ = tmp_path / "opsdesk.yaml"
    path_.write_text(yaml.safe_dump(change(example(), path, value), sort_keys=False))

    with pytest.raises(InvalidInput) as caught:
        load_file(path_)

    assert re.search(rf"{re.escape(str(path_))}:\d+:\d+: {re.escape(message)}", str(caught.value))


def test_an_empty_configuration_is_an_empty_organisation() -> None:
    org = build_org(FileConfig(), NOW)

    assert (org.people, org.teams, org.queues, org.default_team, org.return_timer) == (
        {}, {}, {}, "ops", timedelta(minutes=60))
    assert org.queue("refunds") == Queue("refunds", "ops")


def test_every_bad_reference_is_refused_at_once_each_at_its_key() -> None:
    data = change(change(example(), "ownership.default_team", "nobody"), "sla_policies.refunds.calendar", "mars")
    data = change(data, "ownership.order_rules.1", {"if": "true", "owner": "zoe"})

    with pytest.raises(InvalidFields) as caught:
        build_org(FileConfig.model_validate(data), NOW)

    assert [(".".join(map(str, f.keys)), f.problem.split(" (")[0]) for f in caught.value.fields] == [
        ("sla_policies.refunds.calendar", "no calendar 'mars'"),
        ("ownership.default_team", "no team 'nobody' under teams"),
        ("ownership.order_rules.1.owner", "'zoe' is neither a person under people nor team:<a team under teams>"),
    ]
