"""``opsdesk simulate`` and ``opsdesk demo``: a simulated store day through the desk, and its scorecard."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, emit, load_settings, shown_url
from opsdesk.cli_scorecard import print_scorecard
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import CaseFilter

if TYPE_CHECKING:
    from opsdesk.config import Settings
    from opsdesk.desk import Desk
    from opsdesk.ports import Connector
    from opsdesk.simulator.run_state import Faults, RunStats
    from opsdesk.simulator.scenario import Scenario

out = Console()
err = Console(stderr=True)
DEMO_SECRET = "demo-secret"
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
        "--scenario",
        help="a scenario YAML file, or a built-in one: demo, normal-day, black-friday, carrier-meltdown",
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
    from opsdesk.simulator.over_http import over_http
    from opsdesk.simulator.store import Store

    plan = scenario_named(scenario, seed)
    settings = load_settings(config, database_url)
    secret = secret_for(settings, plan.shop)
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
            refused = f"{stats.refused:,} not accepted (the desk's log says why)" if stats.refused else "all accepted"
            out.print(f"posted the {stats.deliveries:,} deliveries of {plan.name} to {target.rstrip('/')}"
                      f"/webhooks/shopify in {stats.seconds:.1f} s: {refused}", highlight=False, soft_wrap=True)
        return
    card = run_in_process(settings, plan, secret, fmt=fmt, people=people)
    if not emit(card, fmt):
        print_scorecard(card, out)


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
    from opsdesk import app as composition
    from opsdesk.connectors.storefront import PageProbe
    from opsdesk.fakes.storefront import StandInStorefront
    from opsdesk.services.ahead import Ahead
    from opsdesk.simulator.feed import StoreProcess
    from opsdesk.simulator.run_state import VirtualClock
    from opsdesk.simulator.runner import InProcess
    from opsdesk.simulator.scorecard import scorecard
    from opsdesk.simulator.store import catalogue
    from opsdesk.simulator.truth import truth_path
    from opsdesk.storage.bodies import pack as pack_body

    # A simulation's database is rebuilt by running it again: NORMAL spares the fsync of every commit.
    settings = settings.model_copy(
        update={"file": settings.file.model_copy(update={"sqlite_synchronous": "NORMAL"})}
    )
    with contextlib.ExitStack() as stack:
        items = {p.item_id: p.sku for p in catalogue(plan)}
        settings, faults, connectors = stand_ins(settings, stack, items)
        clock = VirtualClock(plan.first_order_at)
        # Generated on the other core, with the desk's intake CPU work (verify, parse, normalise) done
        # there too (bodies packed for storage included); started before the desk is built, so that its
        # start-up and first frame overlap the build.
        checks = Ahead(
            plan.shop,
            settings.secrets_for(plan.shop),
            settings.shop(plan.shop) is not None,
            settings.file.limits.max_body_bytes,
            pack_body,
        )
        store = stack.enter_context(StoreProcess(plan, secret, ahead=checks if ahead else None))
        desk = composition.build(settings, clock=clock, connectors=connectors,
                                 page_probe=StandInStorefront(fallback=PageProbe()))
        refuse_a_used_database(desk)
        runner = InProcess(desk, clock, store, faults=faults, people=people)
        stats = _with_bar(fmt, runner.run)
        card = scorecard(desk, store.truth, stats, readiness=_readiness(desk))
        path = truth_path(settings.database_url)
        if path is not None:
            store.truth.save(path)
        return card


def refuse_a_used_database(desk: Desk) -> None:
    """The scorecard counts every case of its database as the run's: a database with a desk's work (an earlier
    run's, or a store's own) would be scored wrong and mixed with the simulated store; it is left as it is."""
    from opsdesk.simulator.scorecard import ALL_STATUSES

    with desk.db.unit_of_work(read_only=True) as uow:
        deliveries = uow.deliveries.count()
        cases = uow.cases.count(CaseFilter(status=ALL_STATUSES, active_only=False))
    if deliveries or cases:
        raise InvalidInput(
            f"{shown_url(desk.settings.database_url)} already holds a desk's work "
            f"({deliveries:,} deliveries, {cases:,} cases): "
            "the scorecard would count it as this run's, and the simulated store's orders would mix with it: "
            "simulate into a new database (--database-url sqlite:///another.db)"
        )


def stand_ins(
    settings: Settings, stack: contextlib.ExitStack[Any], items: Mapping[int, str] | None = None
) -> tuple[Settings, Faults, dict[str, Connector]]:
    """Local stand-ins for Shopify's Admin API, SMTP and the carrier's label API; the faults they can take;
    the desk's connectors, the Shopify and carrier ones answered by their stand-ins in memory (ADR 0018).
    ``items``: the SKUs of the store's inventory items, by id, as its Shopify knows them.

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
    for item_id, sku in (items or {}).items():
        shopify.add_inventory_item(item_id, sku)

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
    from opsdesk import app as composition
    from opsdesk.connectors.carrier import CarrierLabels
    from opsdesk.connectors.shopify import ShopifyAdmin

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
    """The readiness controls measured at the end of the run, after the day's probe of the shops' pages
    (the demo shop's answered by its stand-in storefront, as when the demo serves)."""

    def measure() -> dict[str, Any]:
        from opsdesk.readiness import evidence, registry

        if desk.page_probe is not None:
            evidence.probe_due(desk.db, desk.settings, desk.page_probe, desk.clock)
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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


def scenario_named(name: str, seed: int | None) -> Scenario:
    from opsdesk.simulator.scenario import load_scenario

    plan = load_scenario(name)
    if seed is not None:
        from dataclasses import replace

        plan = replace(plan, seed=seed)
    return plan


def secret_for(settings: Settings, shop: str) -> str:
    found = settings.secrets_for(shop)
    if not found:
        raise InvalidInput(f"no secret to sign deliveries from {shop}: set OPSDESK_SHOPIFY_SECRET")
    return found[0]
