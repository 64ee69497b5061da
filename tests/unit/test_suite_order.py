"""The suite's longest files start first under ``make test``, each file's tests in their own order (ADR 0044)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.suite_order import LONG_FILES, long_files_first

ROOT = Path(__file__).parents[2]


def test_every_long_file_named_is_a_test_file_of_the_suite() -> None:
    assert [path for path in LONG_FILES if not (ROOT / path).is_file()] == []


def test_the_long_files_come_first_longest_first_and_every_file_keeps_its_order() -> None:
    short, longest, second = "tests/unit/test_sla.py", LONG_FILES[0], LONG_FILES[1]
    ids = [f"{short}::a", f"{second}::b", f"{short}::c", f"{longest}::d", f"{second}::e", f"{longest}::f"]
    items: list[Any] = [SimpleNamespace(nodeid=nodeid) for nodeid in ids]
    long_files_first(items)
    assert [item.nodeid for item in items] == [
        f"{longest}::d", f"{longest}::f", f"{second}::b", f"{second}::e", f"{short}::a", f"{short}::c"]
