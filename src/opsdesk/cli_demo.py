"""``opsdesk demo``: a fresh working folder, a well-run demo store's set-up, a simulated day, the scorecard.

The starter config (``opsdesk init``) leaves out what only a real store knows: its pages, its carriers'
pickup times, its packaging, its people's accounts, its last review of the fraud rules. Left out in the
demo, those readiness controls would fail for want of set-up and hide the ones the day's incidents make
fail. So the demo sets its store up as a well-run shop would (``prepare``): the shop's pages (answered by
the stand-in storefront, ``fakes/storefront.py``), a warehouse with UPS's pickup times, packaging in
stock, an account for each person on the desk, and the lead's review of the risk playbook that morning.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opsdesk.cli_common import FormatOpt, emit, load_settings
from opsdesk.cli_scorecard import print_scorecard
from opsdesk.cli_simulate import DEMO_SECRET, ScenarioOpt, run_in_process, scenario_named, secret_for
from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from opsdesk.config import Settings
    from opsdesk.simulator.scenario import Scenario

out = Console()
DEMO_USER = "demo"
MARK = "# -- the demo store's set-up (written by `opsdesk demo`; a real store writes its own) --"
#: The starter's commented pages of the shop, and the demo's: ``demo-store.example`` (RFC 2606, never online).
PAGES = ("    # storefront_url: https://demo-store.example/", "    # returns_policy_url: https://demo-store.example/")
SET_UP = f"""
{MARK}
warehouses:
  main:
    name: Main warehouse
    location_id: 24826418          # the simulated store's one location (its stock levels name it)
    default: true                  # the simulated orders name no location: they ship from here
    timezone: America/New_York
    lead: carol
    handling_minutes: 30
    promise_tags: [same-day]       # only orders promised same-day are held to the truck's time
    carriers:
      UPS:
        pickups: {{mon: ["16:00"], tue: ["16:00"], wed: ["16:00"], thu: ["16:00"], fri: ["15:00"]}}
        holidays: {{country: US, subdivision: NY}}

readiness:
  packaging:
    box-medium: {{stock: 900, per_order: 1}}
    tape-roll: {{stock: 60, daily_usage: 1}}
"""
#: The desk's people get accounts with the role their place in the teams gives them.
LEADS = frozenset({"carol", "dan"})
REVIEWER = "carol"


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
    os.environ.setdefault("OPSDESK_SHOPIFY_SECRET", DEMO_SECRET)
    database = directory / "opsdesk.db"
    refuse_a_stores_database(directory, database)
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".truth.json"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    plan = scenario_named(scenario, None)
    with _quiet(fmt == "json"):
        settings = prepare(directory, url, plan)
    card = run_in_process(settings, plan, secret_for(settings, plan.shop), fmt=fmt)
    # From here on, the folder's desk goes on from the simulated day's end (ADR 0043): serve, and every command.
    config = directory / "opsdesk.yaml"
    resume_at = datetime.fromisoformat(card["day"]["followed_until"])
    config.write_text(with_clock(config.read_text(), resume_at, datetime.now(UTC)))
    settings = load_settings(str(config), url)
    login = demo_login(settings)
    card["login"] = login
    if not emit(card, fmt):
        print_scorecard(card, out)
        out.print(
            f"dashboard login: [bold]{login['user']}[/] / [bold]{login['password']}[/]  ({login['how']})"
        )
    if serve:
        from opsdesk.cli import run_server

        os.chdir(directory)
        out.print(f"the desk's clock resumes at the simulated day's end: {card['day']['followed_until']}")
        run_server(load_settings("opsdesk.yaml", url), host=host, port=port, stand_ins=True, worker=True)


def refuse_a_stores_database(directory: Path, database: Path) -> None:
    """The demo recreates its folder's database: only one an earlier demo made (its config has the demo store's
    set-up), never a store's (``opsdesk init`` and real deliveries, tokens, cases)."""
    config = directory / "opsdesk.yaml"
    made_by_demo = config.is_file() and MARK in config.read_text(encoding="utf-8")
    if database.exists() and not made_by_demo:
        raise InvalidInput(f"{database} is not a demo's database: the demo recreates its folder's database, "
                           "so it runs only in a new folder or one an earlier demo made (pick another folder)")


def prepare(directory: Path, url: str, plan: Scenario) -> Settings:
    """``opsdesk init`` in ``directory``, the demo store's set-up in its config, and, on the database at the
    scenario's start, an account for each person on the desk and the lead's review of the risk playbook."""
    from opsdesk import app as composition
    from opsdesk.cli import init
    from opsdesk.readiness import evidence
    from opsdesk.services import users
    from opsdesk.simulator.run_state import VirtualClock

    init(directory=directory, force=False, database_url=url)
    config = directory / "opsdesk.yaml"
    config.write_text(demo_store(config.read_text()))
    settings = load_settings(str(config), url)
    desk = composition.build(settings, clock=VirtualClock(plan.start))
    now = desk.clock.now()
    with desk.db.unit_of_work() as uow:
        for person in desk.org.people:
            if uow.users.find(person) is None:
                role = "lead" if person in LEADS else "agent"  # a password nobody is told: `users passwd`
                users.add_user(uow, person, secrets.token_urlsafe(16), desk.org.people[person].name,
                               {"*": role}, person, now=now, actor="demo")
        evidence.record_review(uow, desk.playbooks, desk.settings.file.readiness.risk_playbook, REVIEWER, now,
                               "the demo store's weekly review")
        uow.commit()
    return settings


def demo_store(text: str) -> str:
    """The starter config with the demo store's set-up: its pages uncommented, its warehouse and packaging
    added (once: a config that has them is returned as it is)."""
    if MARK in text:
        return text
    if not all(page in text for page in PAGES):
        raise InvalidInput("opsdesk.yaml is not the starter's: the demo cannot add its store's set-up "
                           "(delete the folder, or pick a new one)")
    for page in PAGES:
        text = text.replace(page, page.replace("# ", "", 1))
    return text.rstrip("\n") + "\n" + SET_UP


CLOCK_MARK = "# -- the desk's clock (written by `opsdesk demo`; delete it to run on the wall clock) --"


def with_clock(text: str, resume_at: datetime, since: datetime) -> str:
    """The config with its ``clock:`` block (ADR 0043): the simulated day's end, resumed at the wall clock's pace
    from ``since``, for serve and every command in the folder; a block from an earlier run replaced."""
    if CLOCK_MARK in text:
        text = text[: text.index(CLOCK_MARK)]
    block = (
        CLOCK_MARK,
        "# The simulated day ended at resume_at; the desk's time is resume_at plus the wall time since `since`.",
        "clock:",
        f"  resume_at: {resume_at.isoformat()}",
        f"  since: {since.isoformat()}",
    )
    return text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"


def demo_login(settings: Settings) -> dict[str, str]:
    """A demo account (an admin) for the dashboard."""
    from opsdesk import app as composition
    from opsdesk.services import users

    desk = composition.build(settings)
    password = secrets.token_urlsafe(9)
    with desk.db.unit_of_work() as uow:
        users.add_user(uow, DEMO_USER, password, "Demo lead", {"*": "admin"}, now=desk.clock.now(), actor="demo")
        uow.commit()
    return {"user": DEMO_USER, "password": password, "how": "sign in at /login"}


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
