"""What a monitor's settings in ``opsdesk.yaml`` name and the desk stores in a column with a length (a case's
queue, 64 characters; its priority, 16; its owner, 255; an action's provider, 64) is checked at load, with the
key and its place, as the same names are in playbooks: PostgreSQL would refuse the case or action instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.config import load_file
from opsdesk.domain.errors import InvalidInput

#: Each setting and the longest value its column holds.
LONGEST = {
    "monitors.stuck_orders.priority": 16, "monitors.stuck_orders.queue": 64, "monitors.return_labels.priority": 16,
    "monitors.delayed_fulfilment.queue": 64, "monitors.address_validation.priority": 16,
    "monitors.carrier_downtime.queue": 64, "monitors.email_health.priority": 16,
    "monitors.email_health.fallback_provider": 64, "discount_guard.owner": 255, "discount_guard.queue": 64,
    "discount_guard.priority": 16, "warehouses.main.queue": 64, "warehouses.main.lead": 255,
}
SETTINGS = list(LONGEST.items())


def load(tmp_path: Path, key: str, value: str) -> Path:
    """Load an ``opsdesk.yaml`` that sets ``key`` (dotted) to ``value`` on its last line; returns its path."""
    *sections, name = key.split(".")
    lines = [f"{'  ' * depth}{section}:" for depth, section in enumerate(sections)]
    if sections[0] == "warehouses" and name != "lead":
        lines.append(f"{'  ' * len(sections)}lead: alice")  # a warehouse needs its lead
    path = tmp_path / "opsdesk.yaml"
    path.write_text("\n".join([*lines, f"{'  ' * len(sections)}{name}: {value}"]) + "\n")
    load_file(path)
    return path


@pytest.mark.parametrize(("key", "length"), SETTINGS, ids=list(LONGEST))
def test_a_name_longer_than_its_column_is_refused_naming_the_key(tmp_path: Path, key: str, length: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        load(tmp_path, key, "x" * (length + 1))
    [line] = [line.strip() for line in str(refused.value).splitlines()[1:]]
    place, problem = line.split(": ", 1)
    last = len((tmp_path / "opsdesk.yaml").read_text().splitlines())
    assert place.startswith(f"{tmp_path / 'opsdesk.yaml'}:{last}:")
    assert problem.startswith(f"{key}: is {length + 1} characters long; at most {length} are stored ")


@pytest.mark.parametrize(("key", "length"), SETTINGS, ids=list(LONGEST))
def test_the_longest_name_its_column_holds_loads(tmp_path: Path, key: str, length: int) -> None:
    load(tmp_path, key, "x" * length)


@pytest.mark.parametrize("key", list(LONGEST))
def test_a_control_character_in_a_name_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        load(tmp_path, key, '"a\\tb"')
    assert f"{key}: may not contain '\\t': a control character or a lone surrogate is not text" in str(refused.value)
