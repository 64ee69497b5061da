"""Names and values a decision, a case or an outbox row could not store are reported where a playbook writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdesk.domain.errors import InvalidPolicy
from opsdesk.domain.policies import Escalation, Guardrail, Scope, window_started
from opsdesk.policy import loader
from tests.unit.playbook_files import GOOD, problems, write


def test_a_rule_id_or_playbook_name_as_long_as_a_decision_holds_loads(tmp_path: Path) -> None:
    longest = "r" * 128  # decisions.rule_id and decisions.playbook are VARCHAR(128)
    text = GOOD.replace("id: small", f"id: {longest}").replace("playbook: refunds", f"playbook: {'p' * 128}")
    [playbook] = loader.load([write(tmp_path, text)])
    assert (playbook.name, playbook.rules[0].id) == ("p" * 128, longest)


NOT_TEXT = "a control character or a lone surrogate is not text"


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("r" * 129, "'id' is 129 characters long; at most 128 are stored with each decision"),
        ("small|1", "'id' may not contain '|': it separates the parts of a guardrail counter's key"),
        ('"small\\0"', rf"'id' may not contain '\x00': {NOT_TEXT}"),
        ('"sm\\nall"', rf"'id' may not contain '\n': {NOT_TEXT}"),
        ('"small\\ud800"', rf"'id' may not contain '\ud800': {NOT_TEXT}"),
    ],
    ids=["too-long", "bar", "nul", "line-break", "lone-surrogate"],
)
def test_a_rule_id_a_decision_or_guardrail_counter_cannot_take_is_reported_where_it_is_written(
    tmp_path: Path, written: str, problem: str
) -> None:
    found = problems(tmp_path, GOOD.replace("id: small", f"id: {written}"))
    assert found == [f"{tmp_path / 'p.yaml'}:4:9: {problem}"]
    with pytest.raises(InvalidPolicy, match=r"p\.yaml:4:9: 'id' "):  # as the desk refuses it at start-up
        loader.load([tmp_path / "p.yaml"])


def test_a_playbook_name_longer_than_a_decision_holds_is_reported_but_a_bar_is_not(tmp_path: Path) -> None:
    long_name = GOOD.replace("playbook: refunds", f"playbook: {'p' * 129}")
    assert problems(tmp_path, long_name) == [
        f"{tmp_path / 'p.yaml'}:1:11: 'playbook' is 129 characters long; at most 128 are stored with each decision"
    ]
    assert problems(tmp_path, GOOD.replace("playbook: refunds", "playbook: refunds|eu")) == []  # in no key


def test_a_bar_in_a_rule_id_would_hide_its_counters_from_the_retention_sweep() -> None:
    """Why the loader refuses it: the sweep reads a counter's window where the scope should be."""
    per_customer = Guardrail(Scope.CUSTOMER, timedelta(days=30), max_count=2)
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert window_started(per_customer.usage_key("small", "9000001", now)) == int(per_customer.window(now))
    assert window_started(per_customer.usage_key("small|1", "9000001", now)) is None


CASE_RULE = GOOD.replace("{queue: refunds}\n", "{queue: refunds, priority: high, sla: standard}\n")


@pytest.mark.parametrize(
    ("written", "place", "problem"),
    [
        ("queue: " + "q" * 65, "13:23", "'queue' is 65 characters long; at most 64 are stored with each case"),
        ("priority: " + "p" * 17, "13:42", "'priority' is 17 characters long; at most 16 are stored with each case"),
        ('queue: "refunds\\0"', "13:23", rf"'queue' may not contain '\x00': {NOT_TEXT}"),
        ('priority: "hi\\ngh"', "13:42", rf"'priority' may not contain '\n': {NOT_TEXT}"),
        ('sla: "standard\\ud800"', "13:53", rf"'sla' may not contain '\ud800': {NOT_TEXT}"),
    ],
    ids=["long-queue", "long-priority", "nul-queue", "line-break-priority", "lone-surrogate-sla"],
)
def test_a_case_name_its_case_cannot_store_is_reported_where_it_is_written(
    tmp_path: Path, written: str, place: str, problem: str
) -> None:
    key = written.split(":", maxsplit=1)[0]
    was = {"queue": "refunds", "priority": "high", "sla": "standard"}[key]
    text = CASE_RULE.replace(f"{key}: {was}", written)
    assert problems(tmp_path, text) == [f"{tmp_path / 'p.yaml'}:{place}: {problem}"]


def test_a_case_opened_beside_actions_and_a_playbook_default_are_checked_too(tmp_path: Path) -> None:
    text = GOOD.replace("      - {type: refund}\n", f"      - {{type: refund}}\n    case: {{queue: {'q' * 65}}}\n")
    text = text.replace("rules:\n", f"default: escalate\nescalate: {{queue: refunds, priority: {'p' * 17}}}\nrules:\n")
    assert problems(tmp_path, text) == [
        f"{tmp_path / 'p.yaml'}:4:38: 'priority' is 17 characters long; at most 16 are stored with each case",
        f"{tmp_path / 'p.yaml'}:13:19: 'queue' is 65 characters long; at most 64 are stored with each case",
    ]


def test_the_longest_queue_priority_and_owner_a_case_holds_load(tmp_path: Path) -> None:
    text = CASE_RULE.replace("queue: refunds", f"queue: {'q' * 64}").replace("priority: high", f"priority: {'p' * 16}")
    [playbook] = loader.load([write(tmp_path, text.replace("owner: team:support", f"owner: {'o' * 255}"))])
    assert playbook.owner == "o" * 255
    assert playbook.rules[1].escalation == Escalation("q" * 64, "p" * 16, "standard")


def test_an_owner_longer_than_a_case_holds_is_reported(tmp_path: Path) -> None:
    """A rule's failed action opens a case its playbook's owner owns (``cases.owner``: 255)."""
    assert problems(tmp_path, GOOD.replace("owner: team:support", f"owner: {'o' * 256}")) == [
        f"{tmp_path / 'p.yaml'}:2:8: 'owner' is 256 characters long; at most 255 are stored as the owner of a case"
    ]
    assert problems(tmp_path, GOOD.replace("owner: team:support", 'owner: "team:\\tsupport"')) == [
        f"{tmp_path / 'p.yaml'}:2:8: 'owner' may not contain '\\t': {NOT_TEXT}"
    ]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("default", "'id' may not be 'default': it is the rule id a decision records when no rule of its playbook "
         "matches"),
        ("none", "'id' may not be 'none': it is the rule id a decision records when no playbook listens to its event"),
    ],
    ids=["default", "none"],
)
def test_a_rule_id_the_desk_records_for_its_own_decisions_is_reserved(
    tmp_path: Path, written: str, problem: str
) -> None:
    assert problems(tmp_path, GOOD.replace("id: small", f"id: {written}")) == [f"{tmp_path / 'p.yaml'}:4:9: {problem}"]
    assert problems(tmp_path, GOOD.replace("id: small", f"id: {written}-refund")) == []


def test_the_playbook_name_of_a_decision_no_playbook_took_is_reserved(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD.replace("playbook: refunds", 'playbook: "-"')) == [
        f"{tmp_path / 'p.yaml'}:1:11: 'playbook' may not be '-': "
        "it is the playbook a decision records when no playbook listens to its event"
    ]
    assert problems(tmp_path, GOOD.replace("playbook: refunds", "playbook: default")) == []  # a rule's name only


NO_TEXT = "a NUL or a lone surrogate is not text"


@pytest.mark.parametrize(
    ("written", "place", "problem"),
    [
        ('{type: note, note: "held\\0"}', "10:28", rf"'note' may not contain '\x00': {NO_TEXT}"),
        ('{type: add_tags, tags: [ok, "re\\udc00ship"]}', "10:37", rf"'tags' may not contain '\udc00': {NO_TEXT}"),
        ("{type: email, template: !!binary aGk=}", "10:33",
         "'template' is not text, a number, a list or a mapping (bytes): an action stores only those"),
        ("{type: refund, limit: 18446744073709551616}", "10:31",
         "'limit' is 18446744073709551616: past the 64-bit whole numbers an action's payload stores"),
        ('{type: email, extra: {"\\ud800": 1}}', "10:30", rf"'extra' may not contain '\ud800': {NO_TEXT}"),
        ('{type: email, "\\ud800": 1}', "10:9", rf"a parameter may not contain '\ud800': {NO_TEXT}"),
    ],
    ids=["nul-note", "lone-surrogate-tag", "bytes", "huge-number", "lone-surrogate-key", "lone-surrogate-name"],
)
def test_an_action_parameter_its_outbox_row_cannot_store_is_reported_where_it_is_written(
    tmp_path: Path, written: str, place: str, problem: str
) -> None:
    assert problems(tmp_path, GOOD.replace("{type: refund}", written)) == [f"{tmp_path / 'p.yaml'}:{place}: {problem}"]


def test_action_parameters_the_payload_stores_load(tmp_path: Path) -> None:
    written = '{type: note, note: "line one\\n\\tline two", n: 18446744073709551615, on: 2026-11-29, to: [{b: ~}]}'
    [playbook] = loader.load([write(tmp_path, GOOD.replace("{type: refund}", written))])
    assert playbook.rules[0].actions[0].params["note"] == "line one\n\tline two"


def test_a_condition_each_decision_cannot_quote_is_reported(tmp_path: Path) -> None:
    """A rule's reason quotes its condition (``decisions.reason``): PostgreSQL refuses a NUL in it."""
    text = GOOD.replace("if: event.simple_purchase_error &&", 'if: "event.notes != \\"\\0\\" &&').replace(
        "<= 50.0\n", '<= 50.0"\n'
    )
    assert problems(tmp_path, text) == [f"{tmp_path / 'p.yaml'}:6:9: 'if' may not contain '\\x00': {NO_TEXT}"]
