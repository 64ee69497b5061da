"""The order-side playbooks' knobs in opsdesk.yaml are checked, with file:line:column, like the rest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opsdesk.app import order_playbooks
from opsdesk.config import load_file, load_settings
from opsdesk.domain.errors import InvalidInput


def test_a_threshold_out_of_range_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text("order_playbooks:\n  payment_pending_minutes: 0\n  oversold_max_orders: 5\n")
    with pytest.raises(InvalidInput) as error:
        load_file(path)
    assert (
        f"{path}:2:28: order_playbooks.payment_pending_minutes: Input should be greater than or equal to 1"
        in str(error.value)
    )


def test_the_knobs_reach_the_watchers_and_timers(tmp_path: Path) -> None:
    path = tmp_path / "opsdesk.yaml"
    path.write_text("order_playbooks: {payment_pending_minutes: 45, wrong_item_repeat_after: 3}\n")
    wired = order_playbooks(load_settings(str(path), "sqlite://"))
    assert (wired.payment_pending, wired.oversold_max_orders, wired.wrong_item_repeat_after) == (
        timedelta(minutes=45),
        50,
        3,
    )
