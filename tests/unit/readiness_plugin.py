"""A store's own readiness controls, as a plugin module names them (used by test_readiness_controls)."""

from __future__ import annotations

from collections.abc import Mapping

from opsdesk.domain.readiness import Control
from opsdesk.readiness import Context, Measurement, ReadinessControl

not_a_control = 42


def _gift_wrap(ctx: Context, thresholds: Mapping[str, float]) -> Measurement:
    rolls = 3
    return Measurement(rolls >= thresholds["min_rolls"], f"{rolls} rolls left (need {thresholds['min_rolls']:g})",
                       {"rolls": rolls})


def _broken(ctx: Context, thresholds: Mapping[str, float]) -> Measurement:
    raise RuntimeError("no data")


def controls() -> list[ReadinessControl]:
    return [
        Control("gift-wrap-stocked", "Gift wrap is stocked", "rolls in the store room", "wiki/gift-wrap",
                {"min_rolls": 10}, _gift_wrap),
        Control("always-broken", "A control that breaks", "nothing", "-", {}, _broken),
    ]
