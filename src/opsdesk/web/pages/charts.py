"""Line charts as inline SVG, computed on the server: no chart library, no script."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22


@dataclass(frozen=True, slots=True)
class Chart:
    """What the template draws: the polyline's points, the dots, the axis labels."""

    title: str
    unit: str
    points: str  # "x,y x,y ..." for <polyline>; gaps (no value) split nothing, they are skipped
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    latest: str
    width: int = WIDTH
    height: int = HEIGHT


def line_chart(title: str, unit: str, labels: list[str], values: list[float | None]) -> Chart:
    """A chart of ``values`` (``None`` where there is none) over ``labels``, y from 0 to a round top."""
    known = [v for v in values if v is not None]
    top = _round_top(max(known, default=0.0), unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(values) - 1, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h - (v / top) * plot_h, 1)

    dots = [
        (round(LEFT + i * step, 1), y(v), f"{labels[i]}: {_fmt(v, unit)}")
        for i, v in enumerate(values)
        if v is not None
    ]
    every = max(len(labels) // 4, 1)
    return Chart(
        title=title,
        unit=unit,
        points=" ".join(f"{x},{yy}" for x, yy, _ in dots),
        dots=dots,
        y_labels=[(y(top * f), _axis(top * f, unit)) for f in (0, 0.5, 1)],
        x_labels=[(round(LEFT + i * step, 1), labels[i]) for i in range(0, len(labels), every)],
        latest=_fmt(known[-1], unit) if known else "no data",
    )


def _round_top(value: float, unit: str) -> float:
    if unit == "%":
        return 100.0
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // magnitude) + 1) * magnitude)


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "cases":
        return f"{value:.0f}"
    if unit == "hours":
        return f"{value:.1f} h"
    return f"{value:,.2f} {unit}" if value < 1000 else f"{value:,.0f} {unit}"


def _axis(value: float, unit: str) -> str:
    """An axis label, short enough for the left margin: ``100%``, ``25``, ``1.5 h``, ``30k``."""
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "hours":
        return f"{value:g} h"
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"
