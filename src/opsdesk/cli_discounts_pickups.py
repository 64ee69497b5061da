"""``opsdesk discounts incidents`` and ``opsdesk pickups missed``: what the guardrails caught, for people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, desk_for, emit
from opsdesk.services.discounts import incident_summary, list_incidents
from opsdesk.services.pickups import missed_pickups

discounts_cli = typer.Typer(no_args_is_help=True, help="Discount guardrails: the incidents they caught.")
pickups_cli = typer.Typer(no_args_is_help=True, help="Carrier pickups: the ones orders missed.")
ShopOpt = Annotated[str | None, typer.Option("--shop", help="only this shop")]
out = Console()


@discounts_cli.command("incidents")
def incidents(
    shop: ShopOpt = None, config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text"
) -> None:
    """Every discount incident: first bad order, pause, time to pause, money at risk, its case."""
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        rows = [incident_summary(i) for i in list_incidents(uow, shop)]
    if emit(rows, fmt):
        return
    table = Table(title=f"{len(rows)} discount incident(s)")
    for column in (
        "detected",
        "discount",
        "kind",
        "first bad order",
        "paused",
        "to pause",
        "money at risk",
        "bad orders",
        "case",
    ):
        table.add_column(column, overflow="fold")
    for r in rows:
        seconds = r["seconds_to_pause"]
        table.add_row(
            _when(r["detected_at"]),
            r["title"],
            r["kind"],
            _when(r["first_bad_order_at"]),
            _when(r["paused_at"]),
            "-" if seconds is None else f"{seconds:g} s",
            f"{r['money_at_risk']} {r['currency']}".strip(),
            str(len(r["bad_orders"])),
            r["case_id"] or "-",
        )
    out.print(table)


@pickups_cli.command("missed")
def missed(
    shop: ShopOpt = None, config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text"
) -> None:
    """Every pickup an order missed: the order, the warehouse, the carrier, the pickup and its cut-off."""
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        rows: list[dict[str, Any]] = [
            {
                "shop": m.shop,
                "order_id": m.order_id,
                "warehouse": m.warehouse,
                "carrier": m.carrier,
                "pickup_at": m.pickup_at.isoformat(),
                "ship_by": m.ship_by.isoformat(),
                "recorded_at": m.recorded_at.isoformat(),
            }
            for m in missed_pickups(uow, shop)
        ]
    if emit(rows, fmt):
        return
    table = Table(title=f"{len(rows)} missed pickup(s)")
    for column in ("pickup", "warehouse", "carrier", "order", "ship-by"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            _when(r["pickup_at"]), r["warehouse"], r["carrier"], str(r["order_id"]), _when(r["ship_by"])
        )
    out.print(table)


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z") if value else "-"
