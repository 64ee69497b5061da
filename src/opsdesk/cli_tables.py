"""Lists for people at any width: one line per row, ids whole, free text cut to fit (ADR 0026).

A column is an *id* (printed whole, never cut: someone copies it into the next command), a *value*
(short, printed whole) or *text* (titles, reasons: takes the width that is left, cut with an ellipsis).
When the width is short the columns with the highest ``rank`` go first, before the text would fall
under ``TEXT_MIN``; ``wide`` columns show only with ``--wide``, which also cuts nothing; a column empty
in every row is left out. With no width (stdout is not a terminal and ``COLUMNS`` is unset) nothing is
cut either: a pipe has no edge.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text

GAP = "  "
TEXT_MIN = 20  # a title cut shorter says little: drop a ranked column first
Kind = Literal["id", "value", "text"]


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "value"
    rank: int = 0  # 0: always shown; the highest goes first when the width is short
    wide: bool = False  # only with --wide
    right: bool = False  # numbers line up on the right


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    wide: bool = False,
    wrap: bool = False,
) -> list[str]:
    """The header and the rows as lines in ``width`` (``None``: unbounded). With ``wrap`` (a detail view,
    whose text is read whole) the text wraps at words within its column and a row may take several lines."""
    # a column with nothing in any row (no errors, nobody disabled) is left out: it only takes room
    shown = [i for i, c in enumerate(columns) if (wide or not c.wide) and (not rows or any(r[i] for r in rows))]
    natural = _natural(columns, rows)
    widths = dict(enumerate(natural))
    if width is not None and not wide:
        least = _least(columns, rows, natural, wrap)
        shown = _drop(columns, shown, natural, least, width)
        widths.update(_share(columns, shown, natural, least, width))
    lines = [_line([_pad(columns[i].header, widths[i], columns[i].right) for i in shown])]
    for row in rows:
        cells = [_cell(row[i], widths[i], wrap and columns[i].kind == "text") for i in shown]
        for n in range(max((len(c) for c in cells), default=1)):
            parts = [c[n] if n < len(c) else "" for c in cells]
            lines.append(_line([_pad(p, widths[i], columns[i].right) for p, i in zip(parts, shown, strict=True)]))
    return lines


def _cell(value: str, width: int, wrap: bool) -> list[str]:
    # only a word longer than the whole column is broken: cutting it would lose what a person reads
    if not wrap or cell_len(value) <= width:
        return [value]
    return textwrap.wrap(value, width, break_on_hyphens=False) or [""]


def _natural(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([cell_len(c.header), *(cell_len(r[i]) for r in rows)]) for i, c in enumerate(columns)]


def _least(columns: Sequence[Column], rows: Sequence[Sequence[str]], natural: list[int], wrap: bool) -> list[int]:
    """How narrow each column may get: ids and values not at all; text to ``TEXT_MIN``, or when it wraps
    to its longest word (a word is broken only when the room is narrower still)."""
    words = [max((cell_len(w) for r in rows for w in r[i].split()), default=0) for i in range(len(columns))]
    return [
        natural[i] if c.kind != "text" else min(natural[i], max(TEXT_MIN, words[i] if wrap else 0))
        for i, c in enumerate(columns)
    ]


def _drop(columns: Sequence[Column], shown: list[int], natural: list[int], least: list[int], width: int) -> list[int]:
    """The columns that fit: the highest ranks go until the rest does, then the most needed of those
    gone come back while there is room for them (a narrow one may fit where a wide one did not)."""

    def need(kept: list[int]) -> int:
        return sum(least[i] for i in kept) + len(GAP) * (len(kept) - 1)

    kept = list(shown)
    while need(kept) > width and any(columns[i].rank for i in kept):
        kept.remove(max((i for i in kept if columns[i].rank), key=lambda i: columns[i].rank))
    for i in sorted(set(shown) - set(kept), key=lambda i: columns[i].rank):
        if need(sorted([*kept, i])) <= width:
            kept = sorted([*kept, i])
    return kept  # ids and values wider than the room: the line runs past it rather than cut an id


def _share(
    columns: Sequence[Column], shown: list[int], natural: list[int], least: list[int], width: int
) -> dict[int, int]:
    """The text columns' widths: the room left after the others, the narrowest text served first."""
    texts = sorted((i for i in shown if columns[i].kind == "text"), key=lambda i: natural[i])
    room = width - sum(natural[i] for i in shown if columns[i].kind != "text") - len(GAP) * (len(shown) - 1)
    widths = {}
    for n, i in enumerate(texts):
        fair = room // (len(texts) - n)
        widths[i] = max(min(natural[i], fair), least[i])
        room -= widths[i]
    return widths


def _pad(cell: str, width: int, right: bool) -> str:
    if cell_len(cell) > width:
        return set_cell_size(cell, width - 1) + "…"
    return set_cell_size(cell, width) if not right else " " * (width - cell_len(cell)) + cell


def _line(cells: list[str]) -> str:
    return GAP.join(cells).rstrip()


def room(console: Console, environ: Mapping[str, str] = os.environ) -> int | None:
    """The width to fit: the terminal's; else ``COLUMNS`` when set; else none (a pipe or a file)."""
    if console.is_terminal:
        return console.width
    columns = environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() else None


def print_rows(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    wrap: bool = False,
    title: str = "",
    header: bool = True,
) -> None:
    """Print a title line, the header (bold on a terminal) and the rows (one line each unless ``wrap``)."""
    if title:
        console.print(Text(title), soft_wrap=True)
    head, *lines = fit(columns, rows, room(console), wide=wide, wrap=wrap)
    if header:
        console.print(Text(head, style="bold"), soft_wrap=True)
    for line in lines:
        console.print(Text(line), soft_wrap=True)


def when(value: datetime | str | None, *, zone: bool = False) -> str:
    """A time as people read it in a list: ``2026-03-02 10:00`` in its own zone, named with ``zone``."""
    if value is None or value == "":
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M %Z" if zone else "%Y-%m-%d %H:%M").rstrip()


def until(due: datetime | None, now: datetime) -> str:
    """A deadline from now, the way a person on call asks: ``in 3h05m``, ``overdue 2d4h``."""
    if due is None:
        return "-"
    left = due - now
    return f"in {_span(left)}" if left >= timedelta(0) else f"overdue {_span(-left)}"


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"
