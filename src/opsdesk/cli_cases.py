"""``opsdesk cases ...``: work the case queue from a terminal or a script (``--format json``).

The person acting is ``--as``; they may reassign a case someone else holds when their dashboard account (``opsdesk
users add --person``) is a lead's in its shop, and the work on such a case is refused, exit 1 (ADR 0039), as a claim
of it is (ADR 0054)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, WideOpt, desk_for, emit
from opsdesk.cli_tables import Column, print_rows, until, when
from opsdesk.domain.case_rights import ensure_person
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.queue_cursor import MAX_OFFSET
from opsdesk.domain.records import CaseFilter

cases_cli = typer.Typer(no_args_is_help=True, help="Work the case queue: list, show, claim, resolve, ...")
out = Console()

AsOpt = Annotated[
    str, typer.Option("--as", help="the person acting (recorded in the timeline and audit log)")
]
CaseArg = Annotated[str, typer.Argument(help="the case's key (C-1042) or its id")]
NoteOpt = Annotated[str, typer.Option("--note", help="a note for the timeline")]


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@cases_cli.command("list")
def list_cases(
    queue: Annotated[str | None, typer.Option(help="only this queue")] = None,
    owner: Annotated[str | None, typer.Option(help="a person or team:<name>")] = None,
    status: Annotated[list[str] | None, typer.Option(help="repeatable; default: every active status")] = None,
    kind: Annotated[str | None, typer.Option(help="refund, dispute, ...")] = None,
    shop: Annotated[str | None, typer.Option(help="only this shop")] = None,
    due_before: Annotated[str | None, typer.Option(help="ISO 8601 time (UTC when no offset)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0, max=MAX_OFFSET, help="cases to skip: prefer --cursor")] = 0,
    cursor: Annotated[str | None, typer.Option(help="the page after the one whose `next` this is (ADR 0059)")] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
    wide: WideOpt = False,
) -> None:
    """The queue: active cases, what is due first first (``due``: the SLA deadline from now)."""
    from opsdesk.services.case_views import case_list, refuse_unknown

    where = CaseFilter(queue, owner, tuple(status or ()), kind, shop, _instant(due_before))
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        refuse_unknown(uow, where, desk.org, desk.playbooks)
        page = case_list(uow, where, limit, offset, cursor)
    if not emit(page, fmt):
        _print_queue(page, desk.clock.now(), wide)


QUEUE = (
    Column("key", "id"),
    Column("due"),
    Column("status"),
    Column("owner", rank=3),
    Column("priority", rank=4),
    Column("queue", rank=5),
    Column("kind", rank=6),
    Column("id", "id", wide=True),  # built from the cause, up to 64 characters: the key names the case
    Column("shop", "id", wide=True),
    Column("order", "id", wide=True),
    Column("deadline", wide=True),
    Column("opened", wide=True),
    Column("title", "text"),
)


def _print_queue(page: dict[str, Any], now: datetime, wide: bool) -> None:
    shown = len(page["cases"])
    rows = [
        (
            c["key"],
            until(c["due_at"], now),
            c["status"],
            c["owner"] or "-",
            c["priority"],
            c["queue"],
            c["kind"],
            c["id"],
            c["shop"],
            "-" if c["order_id"] is None else str(c["order_id"]),
            when(c["due_at"]),
            when(c["opened_at"]),
            c["title"],
        )
        for c in page["cases"]
    ]
    if page["offset"] is None:  # a page after a cursor: where it starts is the cursor's, not a number
        title = f"cases: {shown} after the cursor, of {page['total']}"
    else:
        title = f"cases {page['offset'] + 1 if shown else 0}-{page['offset'] + shown} of {page['total']}"
    print_rows(out, QUEUE, rows, wide=wide, title=title)
    if page["next"]:
        out.print(f"next page: --cursor {page['next']}", soft_wrap=True, highlight=False)


@cases_cli.command()
def show(
    case_id: CaseArg, config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text"
) -> None:
    """One case: its state, SLA, timeline and the decisions on its order."""
    from opsdesk.services.case_views import case_view

    desk = desk_for(config, database_url)
    with desk.db.unit_of_work(read_only=True) as uow:
        view = case_view(uow, case_id)
    if not emit(view, fmt):
        _print_case(view)


FACTS = (Column("fact"), Column("value", "text"))
TIMELINE = (Column("at"), Column("who"), Column("what"), Column("change", "text"), Column("note", "text"))
DECISIONS = (
    Column("decided"),
    Column("event"),
    Column("playbook", rank=1),
    Column("rule", rank=2),  # the explanation names the rule: it goes first
    Column("outcome"),
    Column("explanation", "text"),
)
TIME_KEYS = ("opened_at", "due_at", "first_response_at", "resolved_at")
FACT_KEYS = ("title", "reason", "queue", "kind", "status_text", "owner", "priority", "order_id", "resolution")


def _print_case(view: dict[str, Any]) -> None:
    case = view["case"]
    out.print(Text(f"case {case['key']} ({case['id']})", style="bold"), soft_wrap=True)
    facts = [(k.removesuffix("_text"), "-" if case[k] is None else str(case[k])) for k in FACT_KEYS]
    facts += [(k.removesuffix("_at"), when(case[k])) for k in TIME_KEYS]
    print_rows(out, FACTS, facts, wrap=True, header=False)
    timeline = [
        (when(e["at"]), e["actor"], e["kind"], ", ".join(_changes(e)), e["note"]) for e in view["timeline"]
    ]
    print_rows(out, TIMELINE, timeline, wrap=True, title="\ntimeline")
    decisions = [
        (when(d["decided_at"]), d["event"], d["playbook"], d["rule"], d["outcome"], d["explanation"])
        for d in view["decisions"]
    ]
    print_rows(out, DECISIONS, decisions, wrap=True, title="\ndecisions on the order")


def _changes(entry: dict[str, Any]) -> list[str]:
    return [f"{k}: {entry['before'].get(k, '-')} -> {v}" for k, v in entry["after"].items()]


def _act(
    case_id: str, action: str, actor: str, config: str | None, database_url: str | None, fmt: str, **params: Any
) -> None:
    from opsdesk.services import users
    from opsdesk.services.case_views import case_summary
    from opsdesk.services.cases import act

    ensure_person(actor)
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        lead = users.leads_in(uow, actor, uow.cases.get(case_id).shop)  # the role of --as's dashboard account
        case = act(uow, case_id, action, actor, desk.clock.now(), desk.case_hooks, lead=lead, **params)
        uow.commit()
    summary = case_summary(case)
    if not emit(summary, fmt):
        out.print(f"[green]{action}[/] case {case.key}: {summary['status_text']}, owner {case.owner or '-'}")


@cases_cli.command()
def claim(
    case_id: CaseArg,
    actor: AsOpt,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Take a case; someone else's case is refused, naming them."""
    _act(case_id, "claim", actor, config, database_url, fmt)


@cases_cli.command()
def assign(
    case_id: CaseArg,
    owner: Annotated[str, typer.Argument(help="a person or team:<name>")],
    actor: AsOpt,
    note: NoteOpt = "",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Give a case to a person or a team."""
    _act(case_id, "assign", actor, config, database_url, fmt, owner=owner, note=note)


@cases_cli.command()
def comment(
    case_id: CaseArg,
    text: Annotated[str, typer.Argument(help="the comment")],
    actor: AsOpt,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Add a comment (a person's first one is the first response)."""
    _act(case_id, "comment", actor, config, database_url, fmt, note=text)


@cases_cli.command()
def wait(
    case_id: CaseArg,
    actor: AsOpt,
    on: Annotated[str, typer.Option("--on", help="customer or supplier")] = "customer",
    note: NoteOpt = "",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Wait on the customer or a supplier; the SLA clocks pause."""
    _act(case_id, "wait", actor, config, database_url, fmt, on=on, note=note)


@cases_cli.command()
def resolve(
    case_id: CaseArg,
    resolution: Annotated[
        str, typer.Argument(help="approve_refund, deny, reship, release_hold, pause_discount, no_action")
    ],
    actor: AsOpt,
    note: NoteOpt = "",
    amount: Annotated[str | None, typer.Option(help="refund amount (default: the requested one)")] = None,
    discount_id: Annotated[
        str | None, typer.Option(help="the discount to pause (by default the case's, or the code it is known by)")
    ] = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Resolve a case with a decision; it becomes outbox actions like an automated one."""
    _act(
        case_id,
        "resolve",
        actor,
        config,
        database_url,
        fmt,
        resolution=resolution,
        note=note,
        amount=amount,
        discount_id=discount_id,
    )


@cases_cli.command()
def reopen(
    case_id: CaseArg,
    actor: AsOpt,
    note: NoteOpt = "",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Reopen a resolved or closed case."""
    _act(case_id, "reopen", actor, config, database_url, fmt, note=note)


def _simple(action: str, summary: str) -> None:
    def command(
        case_id: CaseArg,
        actor: AsOpt,
        config: ConfigOpt = None,
        database_url: DbOpt = None,
        fmt: FormatOpt = "text",
    ) -> None:
        _act(case_id, action, actor, config, database_url, fmt)

    command.__doc__ = summary
    cases_cli.command(action)(command)


_simple("start", "Start work on a case.")
_simple("resume", "Resume a waiting case; the SLA clocks run again.")
_simple("close", "Close a resolved case.")
