"""``opsdesk policy backtest``: what a candidate rule set would have decided differently, with no effects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, desk_for, emit
from opsdesk.domain.errors import InvalidInput

out = Console()
err = Console(stderr=True)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{option} must be a date or an ISO 8601 time, not {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def policy_backtest(
    playbooks: Annotated[Path, typer.Option("--playbooks", help="the candidate playbooks: a folder or a file")],
    since: Annotated[str | None, typer.Option(help="first decision time to replay (ISO; default: all)")] = None,
    until: Annotated[str | None, typer.Option(help="replay decisions before this time (ISO)")] = None,
    show: Annotated[int, typer.Option(help="changed decisions listed (text), kept (json)")] = 50,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Replay recorded decisions through candidate playbooks (read-only) and report what would change."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from opsdesk.policy import loader
    from opsdesk.services.backtest import backtest, warm_up_from

    if not playbooks.exists():
        raise InvalidInput(f"no such file or folder: {playbooks}")
    candidate = loader.load([playbooks])
    start, end = _when(since, "--since") or EPOCH, _when(until, "--until")
    if end is not None and end <= start:
        raise InvalidInput(f"--until {until} is not after --since {since or EPOCH.date()}: "
                           "no decision can be replayed between them")
    desk = desk_for(config, database_url)
    columns = (TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with desk.db.unit_of_work(read_only=True) as uow, Progress(
        *columns, console=err, disable=fmt == "json"
    ) as progress:
        task = progress.add_task("backtest", total=uow.decisions.count_between(warm_up_from(candidate, start), end))
        report = backtest(uow, candidate, start, end, max_changes=max(show, 0),
                          progress=lambda n: progress.advance(task, n))
    data = report.as_dict()
    data["candidate"] = {p.name: p.version for p in candidate}
    if not emit(data, fmt):
        _print(data, playbooks)


def _share(counts: dict[str, int]) -> float | None:
    decided = counts.get("automate", 0) + counts.get("escalate", 0)
    return counts.get("automate", 0) / decided if decided else None


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _print(data: dict[str, Any], playbooks: Path) -> None:
    from rich.table import Table

    since = "the start" if data["since"].year == 1970 else data["since"].isoformat()
    out.print(f"backtest of {escape(str(playbooks))} over {data['events']} recorded events since {since}"
              + (f" until {data['until'].isoformat()}" if data["until"] else ""), soft_wrap=True)
    table = Table(show_header=True, header_style="bold")
    table.add_column("decisions")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    before, after = data["decisions"]["before"], data["decisions"]["after"]
    for outcome in ("automate", "escalate", "ignore"):
        table.add_row(outcome, str(before.get(outcome, 0)), str(after.get(outcome, 0)))
    # From the counts, not the JSON's rate (rounded to 4 places): 0.9045 printed as 90.5 % was 142 of 157, 90.4 %.
    table.add_row("automation rate", _percent(_share(before)), _percent(_share(after)))
    money = data["money"]
    currencies = sorted({c for amounts in money.values() for c in amounts})
    for currency in currencies:
        label = currency or "?"
        table.add_row(f"automated ({label})", money.get("automated_before", {}).get(currency, "0"),
                      money.get("automated_after", {}).get(currency, "0"))
        for direction, sign in (("newly_automated", "+"), ("no_longer_automated", "-")):
            if currency in money.get(direction, {}):
                table.add_row(f"  {direction.replace('_', ' ')}", "", f"{sign}{money[direction][currency]}")
    out.print(table)
    if data["unavailable_events"]:
        out.print(f"[yellow]{data['unavailable_events']} events could not be replayed:[/] their facts were not "
                  "recorded and retention deleted their deliveries (retention.deliveries_days)")
    out.print(f"{data['changed']} decisions would change, {data['outcome_changed']} of them their outcome"
              + (":" if data["changes"] else ""))
    for c in data["changes"]:
        money = f"  {c['currency']} {c['amount']}" if c["amount"] is not None else ""
        mark = " (facts rebuilt from the delivery)" if c["approximate"] else ""
        out.print(
            f"  {c['decided_at'].isoformat()[:19]}  order {c['order_id']}  {c['event']}  {c['playbook']}: "
            f"{c['before']['outcome']} ({c['before']['rule'] or '-'}) -> "
            f"{c['after']['outcome']} ({c['after']['rule'] or '-'}){money}{mark}",
            soft_wrap=True,
        )
        out.print(f"      now: {escape(c['after']['reason'])}", soft_wrap=True)
    if data["changed"] > len(data["changes"]):
        out.print(f"  ... {data['changed'] - len(data['changes'])} more (--show N lists more)")
