"""A scenario's numbers out of their range are refused where they are written, before anything runs.

A tick of 0 stopped the run with ``ZeroDivisionError`` and a negative ``returns`` with ``ValueError`` from
``random.sample``, tracebacks after the desk had been built; a share of 3 ran as if it were 1.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsdesk.domain.errors import InvalidInput
from opsdesk.simulator.scenario import read_scenario
from opsdesk.yamldoc import parse


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        read_scenario(parse(text, "day.yaml"))
    return str(caught.value).splitlines()[1:]


def test_a_tick_of_nothing_is_refused_at_its_line() -> None:
    assert _problems("delivery:\n  tick: 0s\n") == ["day.yaml:2:9: expected a tick above 0, like 1m, got '0s'"]


def test_incident_parameters_out_of_range_are_each_refused_at_their_place() -> None:
    text = (
        "incidents:\n"
        "  - {kind: carrier_delay, at: '10:00', share: 3.0, extra_days: -4.0}\n"
        "  - {kind: label_api_outage, at: '10:00', returns: -6}\n"
        "  - {kind: overselling, at: '10:00', stock: -1, share: -0.5}\n"
        "  - {kind: discount_misconfigured, at: '10:00', percent: 120.0, uptake: 1.5}\n"
        "  - {kind: warehouse_backlog, at: '10:00', extra_hours: -1.0}\n"
    )
    assert _problems(text) == [
        "day.yaml:2:47: expected a share between 0 and 1, got 3.0",
        "day.yaml:2:64: expected a number of 0 or more, got -4.0",
        "day.yaml:3:52: expected a number of 0 or more, got -6",
        "day.yaml:4:45: expected a number of 0 or more, got -1",
        "day.yaml:4:56: expected a share between 0 and 1, got -0.5",
        "day.yaml:5:58: expected a percentage between 0 and 100, got 120.0",
        "day.yaml:5:73: expected a share between 0 and 1, got 1.5",
        "day.yaml:6:57: expected a number of 0 or more, got -1.0",
    ]


def test_parameters_at_their_bounds_are_taken() -> None:
    text = (
        "delivery: {tick: 1s}\n"
        "incidents:\n"
        "  - {kind: carrier_delay, at: '10:00', share: 1.0, extra_days: 0.0}\n"
        "  - {kind: label_api_outage, at: '10:00', returns: 0}\n"
        "  - {kind: discount_misconfigured, at: '10:00', percent: 100.0, intended_percent: 0.0, uptake: 0.0}\n"
    )
    scenario = read_scenario(parse(text, "day.yaml"))
    assert [i.params for i in scenario.incidents] == [
        {"share": 1.0, "extra_days": 0.0},
        {"returns": 0},
        {"code": "WELCOME10", "percent": 100.0, "intended_percent": 0.0, "uptake": 0.0},
    ]


def test_a_tick_longer_than_the_scored_day_is_refused_at_its_line() -> None:
    """A 30-day tick ran the whole day (and its history and follow-up) as one instant: the same deliveries,
    2 decisions automated instead of 5, 8 timers fired instead of 22, every time to detect meaningless."""
    assert _problems("duration: 1d\ndelivery:\n  tick: 30d\n") == [
        "day.yaml:3:9: expected a tick no longer than the scored day (1d), got '30d'"
    ]
    assert _problems("delivery: {tick: 2d}\n") == [
        "day.yaml:1:18: expected a tick no longer than the scored day (1d), got '2d'"
    ]
    assert read_scenario(parse("duration: 2h\ndelivery: {tick: 2h}\n", "day.yaml")).tick == timedelta(hours=2)


def test_a_pace_of_nothing_is_refused_at_its_line_not_run_as_the_default() -> None:
    assert _problems("staffing:\n  pace: 0s\n") == ["day.yaml:2:9: expected a pace above 0, like 12m, got '0s'"]
    assert read_scenario(parse("staffing: {pace: 1s}\n", "day.yaml")).staffing.pace == timedelta(seconds=1)


def test_an_empty_list_of_people_is_refused_at_its_line_not_run_as_everyone() -> None:
    """``people: []`` ran with every person of opsdesk.yaml: the opposite of what it says."""
    assert _problems("staffing:\n  people: []\n") == [
        "day.yaml:2:11: expected at least one person from opsdesk.yaml (leave people out for everyone), got []"
    ]
    assert read_scenario(parse("staffing: {people: [ada]}\n", "day.yaml")).staffing.people == ("ada",)


def test_a_shift_ending_before_it_starts_is_a_night_shift_and_one_outside_the_day_is_refused() -> None:
    night = read_scenario(parse("staffing: {shift: '22:00-06:00'}\n", "day.yaml")).staffing.shift
    assert night == (timedelta(hours=22), timedelta(hours=6))
    whole = read_scenario(parse("staffing: {shift: '00:00-24:00'}\n", "day.yaml")).staffing.shift
    assert whole == (timedelta(0), timedelta(hours=24))
    expected = "expected a shift between two different times of day from 00:00 to 24:00, like 08:00-18:00 (or " \
               "22:00-06:00, ending the next day), got "
    assert _problems("staffing:\n  shift: '08:00-08:00'\n") == [f"day.yaml:2:10: {expected}'08:00-08:00'"]
    assert _problems("staffing:\n  shift: 20:00-30:00\n") == [f"day.yaml:2:10: {expected}'20:00-30:00'"]
    assert _problems("staffing:\n  shift: 24:00-06:00\n") == [f"day.yaml:2:10: {expected}'24:00-06:00'"]


@pytest.mark.parametrize(("text", "at"), [("", "1:1"), ("# my day, to fill in\n", "1:1"), ("{}\n", "1:1"),
                                         ("---\n", "2:1")])  # where YAML's empty document is
def test_an_empty_scenario_is_refused_not_run_as_the_defaults(text: str, at: str) -> None:
    assert _problems(text) == [f"day.yaml:{at}: the scenario is empty: expected a mapping of its keys "
                               "(carrier_trouble, delivery, description, duration, follow, history, incidents, name, "
                               "seed, shop, staffing, start, store; docs/reference/scenarios.md)"]
