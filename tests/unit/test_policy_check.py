"""Playbook loading and checking: every problem with file:line:column, nothing loaded on error (names and
values the desk could not store: ``test_policy_check_stored_values``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.domain.errors import InvalidPolicy
from opsdesk.policy import loader
from tests.unit.playbook_files import GOOD, STARTER, problems, write


def test_the_starter_playbooks_pass_the_check() -> None:
    playbooks, found = loader.check([STARTER])
    assert found == []
    assert {p.name for p in playbooks} >= {"refunds"}


def test_a_good_playbook_loads_with_its_rules_in_order_and_a_content_version(tmp_path: Path) -> None:
    [playbook] = loader.load([write(tmp_path, GOOD)])
    assert [r.id for r in playbook.rules] == ["small", "rest"]
    assert playbook.listens == frozenset({"return.requested"})
    assert len(playbook.version) == 12
    [again] = loader.load([write(tmp_path, GOOD.replace("50.0", "60.0"), "q.yaml")])
    assert again.version != playbook.version


def test_unknown_keys_are_reported_with_line_and_column(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    when: [return.requested]\n    if:", "    when: [return.requested]\n    iff: x\n    if:", 1
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path / 'p.yaml'}:6:5: unknown key 'iff' "
        "(allowed: case, description, escalate, guardrails, id, if, then, when)"
    ]


def test_a_syntax_error_in_an_expression_points_at_the_expression(tmp_path: Path) -> None:
    [found] = problems(tmp_path, GOOD.replace("event.amount <= 50.0", "event.amount <= "))
    assert found.startswith(f"{tmp_path / 'p.yaml'}:6:9: bad expression:")


def test_a_type_error_is_caught_before_use(tmp_path: Path) -> None:
    [found] = problems(tmp_path, GOOD.replace("event.amount <= 50.0", "event.amount <= 'fifty'"))
    assert ":6:9: type error" in found


def test_an_unknown_field_or_name_is_caught(tmp_path: Path) -> None:
    [field] = problems(tmp_path, GOOD.replace("event.amount <= 50.0", "event.amout <= 50.0"))
    assert "unknown field 'amout'" in field
    [name] = problems(tmp_path, GOOD.replace("event.amount <= 50.0", "evnt.amount <= 50.0"))
    assert "unknown name" in name


def test_a_condition_must_be_boolean(tmp_path: Path) -> None:
    [found] = problems(
        tmp_path, GOOD.replace("event.simple_purchase_error && event.amount <= 50.0", "event.amount")
    )
    assert "must be true or false" in found


def test_unknown_events_actions_and_bad_guardrails_are_all_reported(tmp_path: Path) -> None:
    text = (
        GOOD.replace("when: [return.requested]", "when: [return.requestd]")
        .replace("{type: refund}", "{type: refundd}")
        .replace("period: 30d", "period: monthly")
    )
    found = problems(tmp_path, text)
    assert len(found) == 3
    assert ":5:12: unknown event 'return.requestd'" in found[0]
    assert ":10:9: unknown action 'refundd'" in found[1]
    assert ":8:33: 'period' is a number and a unit" in found[2]


def test_a_rule_after_an_unconditional_rule_for_the_same_events_is_unreachable(tmp_path: Path) -> None:
    text = GOOD + "  - id: never\n    when: [return.requested]\n    escalate: {queue: other}\n"
    [found] = problems(tmp_path, text)
    assert ":14:5: rule 'never' is unreachable" in found


def test_duplicate_rule_ids_are_reported(tmp_path: Path) -> None:
    [found] = problems(tmp_path, GOOD.replace("id: rest", "id: small"))
    assert "duplicate rule id 'small'" in found


def test_invalid_yaml_names_the_place(tmp_path: Path) -> None:
    [found] = problems(tmp_path, "playbook: [unclosed\n")
    assert "not valid YAML" in found


def test_loading_a_failing_set_raises_and_loads_nothing(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(
        tmp_path,
        GOOD.replace("playbook: refunds", "playbook: other").replace("type: refund", "type: x"),
        "b.yaml",
    )
    with pytest.raises(InvalidPolicy, match=r"b\.yaml:\d+:\d+: unknown action"):
        loader.load([tmp_path])


RELEASE = GOOD.replace("{type: refund}\n", "{type: refund}\n      - {type: release_hold, holds: [address, risk]}\n")


KNOWN = "address, inventory, other, payment, risk"  # the purposes of opsdesk.domain.holds, spelt out


def test_a_release_names_holds_the_desk_places(tmp_path: Path) -> None:
    [playbook] = loader.load([write(tmp_path, RELEASE)])
    assert playbook.rules[0].actions[1].params == {"holds": ["address", "risk"]}
    assert problems(tmp_path, RELEASE.replace("holds: [address, risk]", "holds: inventory")) == []


def test_an_unknown_hold_is_reported_where_it_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, RELEASE.replace("holds: [address, risk]", "holds: [address, fraud]"))
    assert found == [f"{tmp_path / 'p.yaml'}:11:47: unknown hold 'fraud' (known: {KNOWN})"]
    [alone] = problems(tmp_path, RELEASE.replace("holds: [address, risk]", "holds: adress"))
    assert alone == f"{tmp_path / 'p.yaml'}:11:37: unknown hold 'adress' (known: {KNOWN})"
    [shape] = problems(tmp_path, RELEASE.replace("holds: [address, risk]", "holds: {address: yes}"))
    assert shape.endswith(f":11:37: 'holds' is a hold ({KNOWN}) or a list of them")
    [inner] = problems(tmp_path, RELEASE.replace("holds: [address, risk]", "holds: [{address: yes}]"))
    assert inner.endswith(f":11:38: unknown hold {{'address': True}} (known: {KNOWN})")
