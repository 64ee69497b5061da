"""``opsdesk reconcile``: one reconciliation sweep now (the worker runs one every period by itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, WideOpt, desk_for, emit
from opsdesk.cli_tables import Column, print_rows
from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from opsdesk.services.reconcile import SweepReport

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
    wide: WideOpt = False,
) -> None:
    """Ask the Admin API for the orders (with their fulfilments, refunds and return requests) and disputes
    changed since the last sweep; append and process what was lost."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from opsdesk.services.reconcile import sweep_all

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
    desk.record_sweeps(reports)  # as the worker's sweeps: `opsdesk check` and the outage case see it
    processed = desk.process_pending()
    data: dict[str, Any] = {"shops": [r.as_dict() for r in reports], "pipeline": processed.as_dict()}
    if not emit(data, fmt):
        _print(data, wide)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


SWEEP = (
    Column("shop", "id"),
    Column("since", "id", rank=3),
    Column("read", right=True),
    Column("refunds", rank=5, right=True),
    Column("returns", rank=8, right=True),
    Column("disputes", rank=6, right=True),
    Column("missing", rank=1, right=True),
    Column("stale", rank=4, right=True),
    Column("undecided", rank=2, right=True),
    Column("appended", right=True),
    Column("paced", rank=7, right=True),
    Column("mark", "id"),
    Column("error", "text"),
)
COUNTS = ("seen", "refunds_seen", "returns_seen", "disputes_seen", "missing", "stale", "undecided", "appended")


def _print(data: dict[str, Any], wide: bool) -> None:
    rows = [
        (r["shop"], r["since"].isoformat(), *(str(r[k]) for k in COUNTS), f"{r['paced_seconds']:.1f} s",
         r["mark"].isoformat() if r["mark"] else "kept",
         r["error"] or "")
        for r in data["shops"]
    ]
    print_rows(out, SWEEP, rows, wide=wide, title="reconcile")
    for r in data["shops"]:
        for found in r["found"][:20]:
            out.print(Text(f"  {r['shop']} order {found['order_id']} {found['resource']}: {found['reason']} "
                           f"(Shopify {found['updated_at']}, desk {found['known_at'] or 'never'})"), soft_wrap=True)
    pipeline = data["pipeline"]
    out.print(f"processed {pipeline['deliveries']} deliveries: {pipeline['decisions']} decisions, "
              f"{pipeline['actions']} actions, {pipeline['cases']} cases")
