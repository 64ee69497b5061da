"""``opsdesk reconcile``: one reconciliation sweep now (the worker runs one every period by itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, desk_for, emit
from opsdesk.domain.errors import InvalidInput
from opsdesk.services.reconcile import SweepReport, sweep_all

out = Console()
err = Console(stderr=True)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"--since must be an ISO 8601 date or time, not {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reconcile(
    shop: Annotated[str | None, typer.Option(help="one shop (default: every shop in opsdesk.yaml)")] = None,
    since: Annotated[
        str | None, typer.Option(help="read orders updated since this time (ISO; default: the shop's mark)")
    ] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Ask the Admin API for the orders (with their fulfilments and refunds) and disputes changed since the
    last sweep; append and process what was lost."""
    desk = desk_for(config, database_url)
    shops = [s.domain for s in desk.settings.file.shops]
    if shop is not None:
        if shop.lower() not in shops:
            raise InvalidInput(f"{shop} is not a shop in opsdesk.yaml (shops: {', '.join(shops) or 'none'})")
        shops = [shop.lower()]
    reconciler = desk.reconciler()
    if reconciler is None:
        raise InvalidInput("the shopify connector cannot query orders; nothing to reconcile against")
    start = _since(since)
    desk.process_pending()  # compare with a projection that has what was already received
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=fmt == "json", transient=True) as progress:
        task = progress.add_task("reconcile", total=None)

        def tick(report: SweepReport) -> None:
            progress.update(task, description=f"{report.shop}: {report.seen} orders read, {report.appended} "
                                              f"appended, {report.paced_seconds:.0f} s paced for Shopify's rate limit")

        reports = sweep_all(reconciler, shops, start, tick)
    processed = desk.process_pending()
    data: dict[str, Any] = {"shops": [r.as_dict() for r in reports], "pipeline": processed.as_dict()}
    if not emit(data, fmt):
        _print(data)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def _print(data: dict[str, Any]) -> None:
    table = Table(title="reconcile")
    for name in ("shop", "since", "read", "refunds", "disputes", "missing", "stale", "undecided", "appended",
                 "paced", "mark"):
        table.add_column(name)
    for r in data["shops"]:
        mark = r["mark"] or f"[red]kept: {escape(r['error'])}[/]"
        keys = ("seen", "refunds_seen", "disputes_seen", "missing", "stale", "undecided", "appended")
        counts = (r[k] for k in keys)
        table.add_row(r["shop"], r["since"], *map(str, counts), f"{r['paced_seconds']:.1f} s", mark)
    out.print(table)
    for r in data["shops"]:
        for found in r["found"][:20]:
            out.print(f"  {r['shop']} order {found['order_id']} {found['resource']}: {found['reason']} "
                      f"(Shopify {found['updated_at']}, desk {found['known_at'] or 'never'})")
    pipeline = data["pipeline"]
    out.print(f"processed {pipeline['deliveries']} deliveries: {pipeline['decisions']} decisions, "
              f"{pipeline['actions']} actions, {pipeline['cases']} cases")
