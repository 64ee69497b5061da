"""A condition evaluated on the facts it reads (``CelFacts``) decides exactly as on all the facts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdesk.policy.cel import CelFacts, compile_condition, referenced_paths, select_facts, to_cel
from opsdesk.policy.loader import load
from opsdesk.services.facts import specimens

STARTER = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "starter" / "playbooks"


def _full(source: str, facts: dict[str, Any]) -> bool:
    """The reference: the condition on a context holding every fact."""
    condition = compile_condition(source)
    return condition(to_cel(facts))


def _starter_conditions() -> list[str]:
    return sorted(
        {rule.condition_source for p in load(sorted(STARTER.glob("*.yaml"))) for rule in p.rules if rule.condition}
    )


def test_the_starter_conditions_decide_the_same_on_the_facts_they_read() -> None:
    conditions, cases = _starter_conditions(), specimens()
    assert len(conditions) >= 15  # the starter playbooks were found
    compared = 0
    for source in conditions:
        condition = compile_condition(source)
        for facts in cases.values():
            assert condition(CelFacts(facts)) == _full(source, facts), (source, facts["event"]["name"])
            compared += 1
    assert compared == len(conditions) * len(cases)


def test_paths_are_cut_where_the_value_stops_being_a_map() -> None:
    source = 'order.known && order . skus.exists(s, s == "A") && event.available < 0 && shop == "x" && y.order.z'
    assert referenced_paths(source) == {
        ("order", "known"),
        ("order", "skus", "exists"),
        ("event", "available"),
        ("shop",),
    }
    facts = {"shop": "x", "event": {"available": -1, "name": "n"}, "order": {"known": True, "skus": ["A"], "n": 1}}
    assert select_facts(facts, referenced_paths(source)) == {
        "order": {"known": True, "skus": ["A"]},
        "event": {"available": -1},
        "shop": "x",
    }


@pytest.mark.parametrize(
    "paths",
    [
        {("order",), ("order", "total")},  # a shorter path reads the whole value, in either order
        {("order", "total"), ("order",)},
    ],
)
def test_a_shorter_path_keeps_the_whole_value(paths: set[tuple[str, ...]]) -> None:
    facts = {"order": {"total": 2, "deep": {"a": 1}}}
    assert select_facts(facts, frozenset(paths)) == {"order": {"total": 2, "deep": {"a": 1}}}


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("ab", max_size=2))
_orders = st.fixed_dictionaries(
    {},
    optional={
        "known": st.booleans(),
        "total": st.integers(-5, 5),
        "tags": st.lists(st.text("ab", max_size=2), max_size=3),
        "deep": st.dictionaries(st.sampled_from(["a", "b"]), _values, max_size=2),
        "cancelled": _values,
    },
)
EXPRESSIONS = [
    "order.known && order.total > 1",
    "has(order.deep.a) && order.deep.a == 1",
    'order.tags.exists(t, t == "a") || order.cancelled == true',
    'size(order.tags) > 1 && event.status in ["a", "b"]',
    "order.deep.b != null && !order.known",
    'order["total"] >= 0',
    "event.n + order.total > 2",
]


@settings(max_examples=300, deadline=None)
@given(order=_orders, event=st.dictionaries(st.sampled_from(["status", "n"]), _values, max_size=2))
def test_any_facts_decide_the_same(order: dict[str, Any], event: dict[str, Any]) -> None:
    facts = {"shop": "s", "event": event, "order": order, "customer": {}}
    for source in EXPRESSIONS:
        assert compile_condition(source)(CelFacts(facts)) == _full(source, facts), source


#: Compiled once for every example: a condition remembers its results, and must decide as if it did not.
_REMEMBERING = {source: compile_condition(source) for source in EXPRESSIONS}


@settings(max_examples=300, deadline=None)
@given(order=_orders, event=st.dictionaries(st.sampled_from(["status", "n"]), _values, max_size=2))
def test_remembered_results_decide_as_evaluating_again(order: dict[str, Any], event: dict[str, Any]) -> None:
    facts = {"shop": "s", "event": event, "order": order, "customer": {}}
    for source, condition in _REMEMBERING.items():
        assert condition(CelFacts(facts)) == _full(source, facts), source


def test_values_python_finds_equal_are_remembered_apart() -> None:
    condition = compile_condition('event.n == 1 || string(event.n) == "-0"')
    for n in [1, True, 1.0, 0.0, -0.0, Decimal("-0"), Decimal("1.00"), "1", None, ["1"], ("1",), {"1": 1}, 1]:
        facts = {"event": {"n": n}}
        assert condition(CelFacts(facts)) == _full(condition.source, facts), n


def test_a_full_memory_starts_over_and_still_decides() -> None:
    condition = compile_condition("event.n > 2")
    condition.remembered = 3
    for n in [*range(6), *range(6)]:
        assert condition(CelFacts({"event": {"n": n}})) is (n > 2)
