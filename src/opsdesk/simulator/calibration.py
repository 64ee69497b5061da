"""The parameters fitted on the real datasets (written by ``scripts/calibrate_simulator.py``) and samplers.

Sampling draws from the empirical distributions: a continuous value by linear interpolation in the
quantile table, an order's delays by drawing one real delivered Olist order's whole tuple (approval,
carrier hand-over, transit, promise), which keeps their correlation and the 6.4 % late share.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Lifecycle:
    payment_type: str
    approval_h: float
    handover_h: float
    transit_h: float
    promise_h: float


@dataclass(frozen=True)
class Calibration:
    hour_weights: tuple[float, ...]
    weekday_weights: tuple[float, ...]
    lines: tuple[int, ...]
    lines_cumulative: tuple[float, ...]
    price_quantiles: tuple[float, ...]
    shipping_quantiles: tuple[float, ...]
    lifecycles: tuple[Lifecycle, ...]
    cancelled_share: float
    late_share: float
    raw: dict[str, Any]

    def hour(self, rng: random.Random) -> int:
        return rng.choices(range(24), self.hour_weights)[0]

    def line_count(self, rng: random.Random) -> int:
        return self.lines[bisect.bisect_left(self.lines_cumulative, rng.random() * self.lines_cumulative[-1])]

    def price(self, rng: random.Random) -> float:
        return quantile(self.price_quantiles, rng.random())

    def shipping(self, rng: random.Random) -> float:
        return quantile(self.shipping_quantiles, rng.random())

    def lifecycle(self, rng: random.Random) -> Lifecycle:
        return self.lifecycles[rng.randrange(len(self.lifecycles))]


def quantile(table: tuple[float, ...], u: float) -> float:
    """The value at probability ``u`` of an empirical inverse CDF given at evenly spaced points."""
    position = u * (len(table) - 1)
    low = int(position)
    if low >= len(table) - 1:
        return table[-1]
    return table[low] + (table[low + 1] - table[low]) * (position - low)


@functools.cache
def load_calibration() -> Calibration:
    data = json.loads((resources.files("opsdesk.simulator") / "data" / "calibration.json").read_text())
    olist = data["olist"]
    lines = sorted(olist["lines_per_order"].items(), key=lambda kv: int(kv[0]))
    return Calibration(
        hour_weights=tuple(olist["hour_weights"]),
        weekday_weights=tuple(olist["weekday_weights"]),
        lines=tuple(int(k) for k, _ in lines),
        lines_cumulative=tuple(itertools.accumulate(v for _, v in lines)),
        price_quantiles=tuple(olist["item_price_quantiles"]),
        shipping_quantiles=tuple(olist["shipping_quantiles"]),
        lifecycles=tuple(Lifecycle(*row) for row in olist["lifecycles"]),
        cancelled_share=olist["cancelled_share"],
        late_share=olist["late_share"],
        raw=data,
    )
