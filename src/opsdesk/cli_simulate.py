"""``opsdesk simulate`` and ``opsdesk demo``: a simulated store day through the desk, and its scorecard."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from opsdesk import app as composition
from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, emit
from opsdesk.clock import ResumedClock
from opsdesk.config import Settings, load_settings
from opsdesk.connectors.carrier import CarrierLabels
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.desk import Desk
from opsdesk.domain.errors import InvalidInput
from opsdesk.ports import Connector
from opsdesk.services.ahead import Ahead
from opsdesk.simulator.feed import StoreProcess
from opsdesk.simulator.runner import Faults, InProcess, RunStats, VirtualClock, over_http
from opsdesk.simulator.scenario import Scenario, load_scenario
from opsdesk.simulator.scorecard import scorecard
from opsdesk.simulator.store import Store
from opsdesk.simulator.truth import truth_path

out = Console()
err = Console(stderr=True)
DEMO_SECRET = "demo-secret"
DEMO_USER = "demo"
STAND_IN_CARRIERS = ("ups", "fedex")
RETURN_ADDRESS = {
    "name": "Demo Store Returns",
    "street1": "1 Warehouse Way",
    "city": "Newark",
    "zip": "07101",
    "state": "NJ",
    "country": "US",
}

ScenarioOpt = Annotated[
    str,
    typer.Option(
        "--scenario", help="a scenario YAML file, or a built-in one: demo, normal-day, black-friday"
    ),
]


def simulate(
    scenario: ScenarioOpt = "normal-day",
    seed: Annotated[int | None, typer.Option(help="override the scenario's seed")] = None,
    target: Annotated[
        str | None, typer.Option(help="post the deliveries to this running opsdesk (http://host:port)")
    ] = None,
    people: Annotated[
        bool, typer.Option("--people/--no-people", help="simulated people work the queue")
    ] = True,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Run a scenario: a simulated store on a virtual clock, through the desk; then print the scorecard."""
    plan = _scenario(scenario, seed)
    settings = load_settings(config, database_url)
    secret = _secret(settings, plan.shop)
    if target is not None:
        stats = _with_bar(fmt, lambda tick: over_http(Store(plan, secret), target, plan.speed, tick))
        data = {
            "scenario": plan.name,
            "target": target,
            "deliveries": stats.deliveries,
            "not_accepted": stats.refused,
            "seconds": round(stats.seconds, 2),
        }
        if not emit(data, fmt):
            out.print(data)
        return
    card = run_in_process(settings, plan, secret, fmt=fmt, people=people)
    if not emit(card, fmt):
        print_scorecard(card)


def run_in_process(
    settings: Settings,
    plan: Scenario,
    secret: str,
    *,
    fmt: str = "text",
    people: bool = True,
    ahead: bool = True,
) -> dict[str, Any]:
    """Build a desk on a virtual clock with the stand-ins, run the scenario through it, return the scorecard.

    With ``ahead`` the store's process also does the desk's intake CPU work (ADR 0023); the scorecard is
    the same without.
    """
    # A simulation's database is rebuilt by running it again: NORMAL spares the fsync of every commit.
    settings = settings.model_copy(
        update={"file": settings.file.model_copy(update={"sqlite_synchronous": "NORMAL"})}
    )
    with contextlib.ExitStack() as stack:
        settings, faults, connectors = stand_ins(settings, stack)
        clock = VirtualClock(plan.first_order_at)
        # Generated on the other core, with the desk's intake CPU work (verify, parse, normalise) done
        # there too; started before the desk is built, so that its start-up and first frame overlap the build.
        checks = Ahead(
            plan.shop,
            settings.secrets_for(plan.shop),
            settings.shop(plan.shop) is not None,
            settings.file.limits.max_body_bytes,
        )
        store = stack.enter_context(StoreProcess(plan, secret, ahead=checks if ahead else None))
        desk = composition.build(settings, clock=clock, connectors=connectors)
        runner = InProcess(desk, clock, store, faults=faults, people=people)
        stats = _with_bar(fmt, runner.run)
        card = scorecard(desk, store.truth, stats, readiness=_readiness(desk))
        path = truth_path(settings.database_url)
        if path is not None:
            store.truth.save(path)
        return card


def stand_ins(
    settings: Settings, stack: contextlib.ExitStack[Any]
) -> tuple[Settings, Faults, dict[str, Connector]]:
    """Local stand-ins for Shopify's Admin API, SMTP and the carrier's label API; the faults they can take;
    the desk's connectors, the Shopify and carrier ones answered by their stand-ins in memory (ADR 0018).

    The connectors' own code runs in full (requests, headers, idempotency keys, answers, errors, retries and
    the outbox's breaker); only the socket between them and the stand-ins is left out. SMTP stays a socket:
    a simulated day sends no email through it.
    """
    from opsdesk.cli import _with_stand_ins

    with contextlib.redirect_stdout(open(os.devnull, "w")) as quiet:
        fakes: dict[str, Any] = {}
        settings = _with_stand_ins(settings, stack, fakes, in_memory=True)
    quiet.close()
    faults: dict[str, Callable[[bool, Mapping[str, Any]], None]] = {}
    shopify = fakes["shopify"]

    def misconfigured_discount(on: bool, params: Mapping[str, Any]) -> None:
        """The discount the incident creates by mistake, as Shopify holds it: far above its intent."""
        if on and "discount_gid" in params:
            code = str(params["code"])
            shopify.add_discount(str(params["discount_gid"]), title=code, codes=(code,),
                                 percentage=float(params["percent"]) / 100)

    faults["discount_misconfigured"] = misconfigured_discount
    carriers = getattr(settings.file.connectors, "carrier", None)
    if carriers is None:
        return settings, faults, _in_memory(settings, stack, {"shopify": shopify})
    from opsdesk.fakes import carrier as carrier_fake

    fake = carrier_fake.FakeCarrier()
    stack.callback(fake.stop)
    names = tuple(carriers.carriers) or STAND_IN_CARRIERS
    accounts = {name: {"base_url": fake.url_for(name)} for name in names}
    update: dict[str, Any] = {"carriers": accounts}
    if not carriers.carriers:  # the starter config names none: a primary and a fallback stand-in
        update.update(
            primary=names[0], fallback=names[1], return_address=carriers.return_address or RETURN_ADDRESS
        )
    carrier = type(carriers).model_validate({**carriers.model_dump(), **update})
    connectors = settings.file.connectors.model_copy(update={"carrier": carrier})
    settings = settings.model_copy(
        update={"file": settings.file.model_copy(update={"connectors": connectors})}
    )

    def label_outage(on: bool, _params: Mapping[str, Any]) -> None:  # the label API is down: every carrier
        for name in names:
            fake.outage(name, on)

    faults["label_api_outage"] = label_outage
    return settings, faults, _in_memory(settings, stack, {"shopify": shopify, "carrier": fake})


def _in_memory(
    settings: Settings, stack: contextlib.ExitStack[Any], fakes: Mapping[str, Any]
) -> dict[str, Connector]:
    """The connectors the settings make, those named in ``fakes`` on that stand-in's in-memory transport."""
    connectors = composition.default_connectors(settings)
    for name, fake in fakes.items():
        wired = connectors.get(name)
        if isinstance(wired, ShopifyAdmin | CarrierLabels):
            connectors[name] = wired.with_transport(fake.transport())
            wired.close()
    for connector in connectors.values():
        if isinstance(connector, ShopifyAdmin | CarrierLabels):
            stack.callback(connector.close)
    return connectors


def _readiness(desk: Desk) -> Callable[[], Any] | None:
    """The readiness controls measured at the end of the run (no storefront probe: nothing is online)."""

    def measure() -> dict[str, Any]:
        from opsdesk.readiness import registry

        with desk.db.unit_of_work(read_only=True) as uow:
            report = registry.check(desk.settings, uow, desk.clock.now(), desk.playbooks, desk.org).as_dict()
        controls = {c["control"]: c["status"] for c in report["controls"]}
        passed = sum(1 for status in controls.values() if status == "pass")
        return {
            "available": True,
            "passed": passed,
            "total": len(controls),
            "failed": report["failed"],
            "controls": controls,
        }

    return measure


def _with_bar(fmt: str, run: Callable[[Callable[[float, str], None]], RunStats]) -> RunStats:
    columns = (
        TextColumn("simulating {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=fmt == "json") as progress:
        task = progress.add_task("", total=1.0)

        def tick(done: float, label: str) -> None:
            progress.update(task, completed=done, description=label)

        stats = run(tick)
        progress.update(task, completed=1.0)
    return stats


def _scenario(name: str, seed: int | None) -> Scenario:
    plan = load_scenario(name)
    if seed is not None:
        from dataclasses import replace

        plan = replace(plan, seed=seed)
    return plan


def _secret(settings: Settings, shop: str) -> str:
    found = settings.secrets_for(shop)
    if not found:
        raise InvalidInput(f"no secret to sign deliveries from {shop}: set OPSDESK_SHOPIFY_SECRET")
    return found[0]


def print_scorecard(card: dict[str, Any]) -> None:
    auto = card["automation"]
    head = Table(title=f"scorecard: {card['scenario']} (seed {card['seed']})", show_header=False)
    head.add_row(
        "orders / deliveries",
        f"{card['deliveries']['orders']:,} / {card['deliveries']['sent']:,} "
        f"({card['deliveries']['duplicates']} duplicates, {card['deliveries']['reordered']} reordered)",
    )
    head.add_row(
        "automation rate (decisions)",
        _share(auto["rate"]) + f"  ({auto['automated']} automated, {auto['escalated']} escalated)",
    )
    head.add_row(
        "routine orders without a case",
        f"{_share(auto['routine_rate'])}  "
        f"({auto['routine_orders_without_a_case']:,} of {auto['routine_orders']:,})",
    )
    head.add_row("escalations not needed", str(card["unneeded_escalations"]["count"]))
    head.add_row(
        "SLA compliance",
        f"{_share(card['sla']['compliance'])} of {card['sla']['resolved_with_deadline']} "
        "resolved with a deadline",
    )
    head.add_row("most exceptions open without an owner", f"{card['max_unowned']} (goal: 0)")
    head.add_row("cases by kind", ", ".join(f"{k} {v}" for k, v in card["cases_by_kind"].items()) or "-")
    head.add_row("readiness", _readiness_text(card["readiness"]))
    run = card.get("run") or {}
    if run:
        head.add_row(
            "run",
            f"{run['seconds']:.1f} s, {run['timers_fired']:,} timers fired, "
            f"{run['actions_claimed']:,} actions sent, people resolved {(card['people'] or {}).get('resolved', 0)}",
        )
    out.print(head)
    incidents = Table(title=f"incidents: {card['caught']} caught")
    for column in ("incident", "at", "caught", "time to detect", "at risk then", "in all"):
        incidents.add_column(column, no_wrap=True)
    incidents.add_column("caught by", overflow="fold")
    for i in card["incidents"]:
        ttd = i["time_to_detect_seconds"]
        incidents.add_row(
            i["kind"],
            i["at"],
            "[green]yes[/]" if i["caught"] else "[red]NO[/]",
            _duration(ttd) if ttd is not None else "-",
            i["money_at_risk_when_caught"] or "-",
            i["money_at_risk_total"],
            (i["caught_by"] or "-").split(" (")[0],
        )
    out.print(incidents)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _readiness_text(value: Any) -> str:
    if isinstance(value, dict) and value.get("available") is False:
        return "not available" + (f" ({value['error']})" if value.get("error") else "")
    if isinstance(value, dict) and "passed" in value:
        return f"{value['passed']} of {value['total']} controls pass"
    return str(value)


def demo(
    directory: Annotated[
        Path, typer.Argument(help="the working folder (created; its database is recreated)")
    ] = Path("demo"),
    scenario: ScenarioOpt = "demo",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the dashboard on the data afterwards")
    ] = True,
    host: Annotated[str, typer.Option(help="address to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
    fmt: FormatOpt = "text",
) -> None:
    """Init a fresh working folder, run a simulated day at high speed, print the scorecard, then serve."""
    from opsdesk.cli import init

    os.environ.setdefault("OPSDESK_SHOPIFY_SECRET", DEMO_SECRET)
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "opsdesk.db"
    for suffix in ("", "-wal", "-shm", ".truth.json"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    with _quiet(fmt == "json"):
        init(directory=directory, force=False, database_url=url)
    settings = load_settings(str(directory / "opsdesk.yaml"), url)
    plan = _scenario(scenario, None)
    card = run_in_process(settings, plan, _secret(settings, plan.shop), fmt=fmt)
    login = demo_login(settings)
    card["login"] = login
    if not emit(card, fmt):
        print_scorecard(card)
        out.print(
            f"dashboard login: [bold]{login['user']}[/] / [bold]{login['password']}[/]  ({login['how']})"
        )
    if serve:
        from opsdesk.cli import run_server

        os.chdir(directory)
        # The dashboard resumes the simulated day where it ended, at the wall clock's pace.
        resumed = ResumedClock(datetime.fromisoformat(card["day"]["followed_until"]))
        out.print(f"the desk's clock resumes at the simulated day's end: {card['day']['followed_until']}")
        run_server(load_settings("opsdesk.yaml", url), host=host, port=port, stand_ins=True, worker=True,
                   clock=resumed)


def demo_login(settings: Settings) -> dict[str, str]:
    """A demo account for the dashboard (or, without accounts, an API token)."""
    desk = composition.build(settings)
    password = secrets.token_urlsafe(9)
    try:
        from opsdesk.services import users
    except ImportError:
        users = None  # type: ignore[assignment]
    with desk.db.unit_of_work() as uow:
        if users is not None:
            with contextlib.suppress(Exception):
                users.add_user(uow, DEMO_USER, password, "Demo lead", {"*": "admin"}, now=desk.clock.now())
                uow.commit()
                return {"user": DEMO_USER, "password": password, "how": "sign in at /login"}
        from opsdesk.services import tokens

        token = tokens.create_token(uow, DEMO_USER, "admin", desk.clock.now())
        uow.commit()
    return {"user": "API token", "password": token, "how": "Authorization: Bearer <token>"}


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
