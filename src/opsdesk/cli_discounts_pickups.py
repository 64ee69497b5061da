"""``opsdesk discounts incidents`` and ``opsdesk pickups missed``: what the guardrails caught, for people."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, WideOpt, desk_for, emit
from opsdesk.cli_tables import Column, print_rows, when

discounts_cli = typer.Typer(no_args_is_help=True, help="Discount guardrails: the incidents they caught.")
pickups_cli = typer.Typer(no_args_is_help=True, help="Carrier pickups: the ones orders missed.")
ShopOpt = Annotated[str | None, typer.Option("--shop", help="only this shop")]
out = Console()


@discounts_cli.command("incidents")
def incidents(
    shop: ShopOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
    wide: WideOpt = False,
) -> None:
    """Every discount incident: first bad order, pause, time to pause, money at risk, its case (by its key)."""
    from opsdesk.services.discount_incidents import incident_summaries

    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        rows = incident_summaries(uow, shop)
    if emit(rows, fmt):
        return
    print_rows(out, INCIDENTS, [_incident(r) for r in rows], wide=wide, title=f"{len(rows)} discount incident(s)")


INCIDENTS = (
    Column("case", "id"),
    Column("detected", rank=2),
    Column("kind", rank=4),
    Column("to pause", rank=3, right=True),
    Column("at risk", right=True),
    Column("orders", rank=5, right=True),
    Column("shop", "id", wide=True),
    Column("discount id", "id", wide=True),
    Column("first bad order", wide=True),
    Column("paused", wide=True),
    Column("violations", "text", wide=True),
    Column("discount", "text"),
)


def _incident(r: dict[str, Any]) -> tuple[str, ...]:
    seconds = r["seconds_to_pause"]
    return (
        r["case_key"] or r["case_id"] or "-",
        when(r["detected_at"], zone=True),
        r["kind"],
        "-" if seconds is None else f"{seconds:g} s",
        f"{r['money_at_risk']} {r['currency']}".strip(),
        str(len(r["bad_orders"])),
        r["shop"],
        r["discount_id"],
        when(r["first_bad_order_at"], zone=True),
        when(r["paused_at"], zone=True),
        ", ".join(r["violations"]) or "-",
        r["title"],
    )


@pickups_cli.command("missed")
def missed(
    shop: ShopOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
    wide: WideOpt = False,
) -> None:
    """Every pickup an order missed: the order, the warehouse, the carrier, the pickup and its cut-off."""
    from opsdesk.services.pickups import missed_pickups

    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        rows: list[dict[str, Any]] = [
            {
                "shop": m.shop,
                "order_id": m.order_id,
                "warehouse": m.warehouse,
                "carrier": m.carrier,
                "pickup_at": m.pickup_at,
                "ship_by": m.ship_by,
                "recorded_at": m.recorded_at,
            }
            for m in missed_pickups(uow, shop)
        ]
    if emit(rows, fmt):
        return
    print_rows(out, MISSED, [_missed(r) for r in rows], wide=wide, title=f"{len(rows)} missed pickup(s)")


MISSED = (
    Column("pickup"),
    Column("order", "id"),
    Column("warehouse"),
    Column("carrier"),
    Column("ship-by", rank=1),
    Column("shop", "id", wide=True),
    Column("recorded", wide=True),
)


def _missed(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        when(r["pickup_at"], zone=True),
        str(r["order_id"]),
        r["warehouse"],
        r["carrier"],
        when(r["ship_by"], zone=True),
        r["shop"],
        when(r["recorded_at"], zone=True),
    )
