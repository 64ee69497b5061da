"""The scorecard as `opsdesk simulate` and `opsdesk demo` print it: two tables that read whole in 80 columns.

The demo is the first command a newcomer runs, usually in an 80-column terminal or piped into a file
(where Rich assumes 80). So the tables hold only short cells, which are never cut to "…", and what caught
each incident (a playbook's rule, a case's queue: long names) follows as one wrapped line per incident.
The ids behind each catch are in ``--format json``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table


def print_scorecard(card: dict[str, Any], out: Console) -> None:
    out.print(_summary(card))
    out.print(_incidents(card))
    how = Table.grid(padding=(0, 1))  # the rule or queue that caught each; its ids: the JSON
    how.add_column(no_wrap=True)
    how.add_column()
    for incident in card["incidents"]:
        if incident["caught"]:
            how.add_row(f"{_name(incident)}:", f"caught by {(incident['caught_by'] or '-').split(' (')[0]}")
    out.print(Padding(how, (0, 1)), highlight=False)


def _summary(card: dict[str, Any]) -> Table:
    auto, deliveries = card["automation"], card["deliveries"]
    table = Table(title=f"scorecard: {card['scenario']} (seed {card['seed']})", show_header=False,
                  box=box.SIMPLE, padding=(0, 1))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    table.add_row("orders / deliveries", f"{deliveries['orders']:,} / {deliveries['sent']:,} "
                  f"({deliveries['duplicates']:,} duplicated, {deliveries['reordered']:,} reordered)")
    # Shares from the counts, not the JSON's rates (rounded to 4 places, then to 1 decimal: 142 of 157 printed 90.5 %).
    table.add_row("automation rate", f"{_share(_ratio(auto['automated'], auto['escalated']))} of decisions "
                  f"({auto['automated']:,} automated, {auto['escalated']:,} escalated)")
    routine, without = auto["routine_orders"], auto["routine_orders_without_a_case"]
    table.add_row("routine orders, no case", f"{_share(without / routine if routine else None)} "
                  f"({auto['routine_orders_without_a_case']:,} of {auto['routine_orders']:,})")
    table.add_row("escalations not needed", f"{card['unneeded_escalations']['count']:,}")
    if trouble := card.get("carrier_trouble"):  # a card printed from JSON written before session 15 has none
        table.add_row("carrier trouble", _trouble(trouble))
    sla = card["sla"]
    table.add_row("SLA compliance", f"{_share(sla['compliance'])} of {sla['resolved_with_deadline']:,} resolved "
                  "with a deadline" if sla["resolved_with_deadline"] else "- (no case with a deadline resolved)")
    table.add_row("most open, no owner", f"{card['max_unowned']:,} (goal: 0)")
    table.add_row("cases by kind", ", ".join(f"{k} {v:,}" for k, v in card["cases_by_kind"].items()) or "-")
    table.add_row("readiness", _readiness(card["readiness"]))
    if run := card.get("run") or {}:
        people = card.get("people") or {}
        table.add_row("run", f"{run['seconds']:.1f} s, {run['timers_fired']:,} timers fired, "
                      f"{run['actions_claimed']:,} actions sent, people resolved {people.get('resolved', 0):,}")
    return table


def _trouble(trouble: dict[str, Any]) -> str:
    """The parcels the carrier had trouble with and what the desk did (the JSON's ``carrier_trouble``)."""
    buyer, back, parcels = trouble["buyer_action"], trouble["returned_to_sender"], trouble["parcels"]
    return (f"buyer action {buyer['parcels']:,} ({buyer['customer_emailed']:,} emailed; "
            f"{buyer['still_waiting_with_a_case']:,} of {buyer['still_waiting']:,} still waiting with a case), "
            f"returned {back['parcels']:,} ({back['with_a_case']:,} with a case), "
            f"attempted {parcels['attempted_delivery']:,}, pickup {parcels['pickup']:,}; "
            f"{trouble['cases_not_needed']['count']:,} cases not needed")


def _incidents(card: dict[str, Any]) -> Table:
    harmless = sum(1 for incident in card["incidents"] if _harmed_nothing(incident))
    early = sum(1 for incident in card["incidents"] if incident.get("over_before_the_desk_looked"))
    notes = [f"{harmless} harmed no order"] * bool(harmless) + [f"{early} over before the desk looked"] * bool(early)
    title = f"incidents: {card['caught']} caught" + (f" ({', '.join(notes)})" if notes else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1))
    table.add_column("incident")
    table.add_column("at", no_wrap=True)
    table.add_column("caught after", no_wrap=True)
    table.add_column("at risk then", justify="right", no_wrap=True)
    table.add_column("in all", justify="right", no_wrap=True)
    for incident in card["incidents"]:
        table.add_row(
            _name(incident),
            incident["at"],
            _caught_after(incident),
            _money(incident["money_at_risk_when_caught"]),
            _money(incident["money_at_risk_total"]),
        )
    return table


def _caught_after(incident: dict[str, Any]) -> str:
    ttd = incident["time_to_detect_seconds"]
    if incident["caught"] and ttd is not None:
        return _duration(ttd)
    # Nothing to catch is not a miss: the money column says 0.00 and the JSON affected_orders 0.
    if _harmed_nothing(incident):
        return "no order harmed"
    # Nor is harm that ended before the desk, as designed, looks (a payment through in under its 30 minutes).
    if incident.get("over_before_the_desk_looked"):
        return f"over in < {_duration(incident['desk_looks_after_seconds'])}"
    return "[red]NOT caught[/]"


def _harmed_nothing(incident: dict[str, Any]) -> bool:
    nothing_at_risk = _money(incident["money_at_risk_total"]) == "0.00"
    return not incident["caught"] and not incident["affected_orders"] and nothing_at_risk


def _name(incident: dict[str, Any]) -> str:
    return str(incident["kind"]).replace("_", " ")


def _ratio(automated: int | None, escalated: int | None) -> float | None:
    decided = (automated or 0) + (escalated or 0)
    return (automated or 0) / decided if decided else None


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"


def _money(value: object) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return "-"


def _readiness(value: Any) -> str:
    if isinstance(value, dict) and value.get("available") is False:
        return "not available" + (f" ({value['error']})" if value.get("error") else "")
    if isinstance(value, dict) and "passed" in value:
        failing = f"; failing: {', '.join(value['failed'])}" if value.get("failed") else ""
        return f"{value['passed']} of {value['total']} controls pass{failing}"
    return str(value)
