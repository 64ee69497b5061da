"""``opsdesk ingest``: recorded deliveries replayed through the intake path, with a progress bar by bytes read."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, desk_for, emit
from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from rich.progress import Progress

out = Console()
err = Console(stderr=True)


def _lines_with_progress(path: Path, progress: Progress) -> Iterator[bytes]:
    """The file's lines (gzip when it ends in .gz), advancing the bar by bytes read from disk."""
    task = progress.add_task("ingest", total=path.stat().st_size)
    with path.open("rb") as raw:
        lines = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        seen = 0
        for number, line in enumerate(lines):
            if number % 256 == 0:
                position = raw.tell()
                progress.advance(task, position - seen)
                seen = position
            yield line
        progress.update(task, completed=path.stat().st_size)


def ingest(
    file: Annotated[Path, typer.Argument(help="JSON Lines of {headers, body} recorded deliveries (.gz too)")],
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Replay recorded deliveries through the same intake path as HTTP, then process them."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from opsdesk.services.replay import replay

    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    desk = desk_for(config, database_url)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, disable=fmt == "json") as progress:
        report = replay(
            _lines_with_progress(file, progress),
            desk.db.unit_of_work,
            secrets_for=desk.secrets_for,
            is_known=desk.is_known,
            max_bytes=desk.settings.file.limits.max_body_bytes,
            now=desk.clock.now,
            batch_size=desk.settings.file.limits.batch_size,
            pipeline=desk.pipeline,
            erased=desk.erased,
        )
        report.pipeline.add(desk.process_pending())
    summary = report.as_dict()
    if not emit(summary, fmt):
        _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="ingest", show_header=False)
    for key in ("lines", "stored", "duplicates"):
        table.add_row(key, str(summary[key]))
    for reason, count in summary["refused"].items():
        table.add_row(f"refused: {reason}", str(count))
    table.add_row("bad lines", str(summary["bad_line_count"]))
    for key, value in summary["pipeline"].items():
        table.add_row(f"pipeline {key}", str(value))
    out.print(table)
    for line in summary["bad_lines"]:
        err.print(f"[red]{line}[/]")
