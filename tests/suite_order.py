"""The order the suite's files start in under ``make test``: the longest first (ADR 0044, session 15).

Under ``--dist loadfile`` a worker runs a file whole. pytest-xdist used to start the files with the most tests
first (its ``--loadscope-reorder``), which put the long files of one or two tests (a property test, the sustained
intake, a demo day) at the very end, where one worker ran them while the other had nothing left to take. The
Makefile turns that reordering off (``--no-loadscope-reorder``) and these files are collected first, longest
first, so the short files fill the end of both workers' time.
"""

from __future__ import annotations

import pytest

#: The files that run longest, longest first (seconds of one worker, measured in session 15 with two workers on
#: the 2-core machine under other engineers' load; a file not listed takes less than the last).
LONG_FILES = (
    "tests/integration/test_cli_json_output.py",
    "tests/browser/test_accessibility.py",
    "tests/integration/test_cli_exit_codes.py",
    "tests/integration/test_cli_errors.py",
    "tests/integration/test_cli_json_errors.py",
    "tests/integration/test_intake_sustained.py",
    "tests/integration/test_check_cli.py",
    "tests/integration/test_config_lines.py",
    "tests/integration/test_cli.py",
    "tests/integration/address/test_address_paths.py",
    "tests/integration/test_delivery_order.py",
    "tests/integration/test_long_shop_domain.py",
)


def long_files_first(items: list[pytest.Item]) -> None:
    """Moves the tests of ``LONG_FILES`` to the front, in that order; every file's tests keep theirs (a stable
    sort), which two fuzz files need (ADR 0044)."""
    rank = {path: index for index, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))
