"""The ``opsdesk`` command line: thin commands over the services, one error handler."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from opsdesk import cli_backtest, cli_check, cli_demo, cli_ingest, cli_reconcile, cli_simulate, logs
from opsdesk import cli_errors as errors
from opsdesk.cli_cases import cases_cli
from opsdesk.cli_common import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    desk_for,
    emit,
    load_settings,
    refuse_unknown_format,
    shown_url,
)
from opsdesk.cli_discounts_pickups import discounts_cli, pickups_cli
from opsdesk.cli_privacy import privacy_cli
from opsdesk.cli_tokens import tokens_cli
from opsdesk.cli_users import audit_cli, users_cli
from opsdesk.cli_webhooks import webhooks_cli
from opsdesk.domain.errors import InvalidInput, OpsdeskError

if TYPE_CHECKING:  # what the commands run on is imported as they run (ADR 0054, session 15)
    from opsdesk.config import Settings
    from opsdesk.desk import Desk
    from opsdesk.ports import Clock

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="The operations desk for online stores.")
policy_cli = typer.Typer(no_args_is_help=True, help="Check and test playbooks.")
cli.add_typer(policy_cli, name="policy")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(cases_cli, name="cases")
cli.add_typer(users_cli, name="users")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(discounts_cli, name="discounts")
cli.add_typer(pickups_cli, name="pickups")
cli.add_typer(privacy_cli, name="privacy")
cli.add_typer(webhooks_cli, name="webhooks")
cli.command()(cli_simulate.simulate)
cli.command()(cli_demo.demo)
cli.command()(cli_ingest.ingest)
cli.command("check")(cli_check.check)
cli.command("probe")(cli_check.probe)
cli.command("reconcile")(cli_reconcile.reconcile)
policy_cli.command("review")(cli_check.policy_review)
policy_cli.command("backtest")(cli_backtest.policy_backtest)
out = Console()
err = Console(stderr=True)


@cli.command()
def init(
    directory: Annotated[Path, typer.Argument(help="where to write opsdesk.yaml and playbooks/")] = Path(),
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Write a commented starter config, the default playbooks and the database schema.

    The JSON names the files ``written`` and ``kept`` (they existed: ``--force`` overwrites) and the database's URL
    (its password hidden)."""
    from opsdesk import app as composition

    refuse_unknown_format(fmt)
    directory.mkdir(parents=True, exist_ok=True)
    starter = resources.files("opsdesk") / "starter"
    written: list[str] = []
    kept: list[str] = []
    targets = [("opsdesk.yaml", directory / "opsdesk.yaml")]
    targets += [
        (f"playbooks/{p.name}", directory / "playbooks" / p.name)
        for p in sorted((starter / "playbooks").iterdir(), key=lambda p: p.name)  # a stable document
        if p.name.endswith(".yaml")
    ]
    for source, target in targets:
        if target.exists() and not force:
            kept.append(str(target))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(starter / source) as path:
            shutil.copyfile(path, target)
        written.append(str(target))
    settings = load_settings(str(directory / "opsdesk.yaml"), database_url)
    composition.build(settings)
    shown = shown_url(settings.database_url)
    if emit({"written": written, "kept": kept, "database_url": shown}, fmt):
        return
    for name in kept:
        err.print(f"[yellow]kept[/] {name} (exists; --force overwrites)")
    for name in written:
        out.print(f"[green]wrote[/] {name}")
    out.print(f"[green]schema ready[/] {shown}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    stand_ins: Annotated[
        bool, typer.Option("--stand-ins", help="send actions to local stand-ins for Shopify and SMTP (demo)")
    ] = False,
    worker: Annotated[
        bool,
        typer.Option("--worker/--no-worker", help="also run the pipeline and outbox sender in this process"),
    ] = True,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="log every HTTP request (method, path, status; off by default)")
    ] = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Run webhook intake, the JSON API and the worker in one process."""
    run_server(load_settings(config, database_url), host=host, port=port, stand_ins=stand_ins, worker=worker,
               access_log=access_log)


def run_server(
    settings: Settings, *, host: str, port: int, stand_ins: bool, worker: bool, clock: Clock | None = None,
    access_log: bool = False,
) -> None:
    """``opsdesk serve``; ``clock`` for a desk not on the wall clock (the demo's, which resumes its day).

    uvicorn's loggers go to the desk's handler (``log_config=None``: uvicorn sets none up, ADR 0033)."""
    import uvicorn

    from opsdesk import app as composition
    from opsdesk.connectors.storefront import PageProbe
    from opsdesk.fakes.storefront import StandInStorefront
    from opsdesk.web.app import create_app

    with contextlib.ExitStack() as stack:
        probe = None
        if stand_ins:
            settings = _with_stand_ins(settings, stack)
            probe = StandInStorefront(fallback=PageProbe())  # the demo shop's pages (fakes/storefront.py)
        desk = composition.build(settings, clock=clock, page_probe=probe)
        _start(desk)
        out.print(
            f"opsdesk on http://{host}:{port}  (webhooks: POST /webhooks/shopify, API: /api/v1, docs: /docs)"
        )
        uvicorn.run(create_app(desk, background=worker), host=host, port=port, log_config=None, log_level=None,
                    access_log=access_log, loop="uvloop", http="httptools")


def _start(desk: Desk) -> None:
    """Before ``serve`` and ``worker`` run: refuse a desk that could not extend the audit chain with its key (ADR
    0024), warn of what would go wrong quietly, and freeze what start-up made (``_tune_garbage_collector``), the
    modules these commands import as they run and their desk included (ADR 0054, session 15)."""
    from opsdesk.services.audit import check_writable

    with desk.db.unit_of_work(read_only=True) as uow:
        check_writable(uow, desk.settings.audit_keys)
    cli_check.warn_at_start(desk)
    gc.freeze()


def _with_stand_ins(
    settings: Settings,
    stack: contextlib.ExitStack[Any],
    fakes: dict[str, Any] | None = None,
    *,
    in_memory: bool = False,
) -> Settings:
    """Start the local stand-ins for Shopify's Admin API and an SMTP server, and point the connectors at them
    (``fakes`` receives them by name, for a caller that seeds them). ``in_memory``: the Shopify stand-in
    serves no socket; the caller gives the connector its ``transport()`` (the simulator, ADR 0018)."""
    from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
    from opsdesk.fakes.smtp import FakeSmtp

    os.environ.setdefault("OPSDESK_SHOPIFY_ACCESS_TOKEN", "stand-in-token")
    if in_memory:
        shopify = FakeShopifyAdmin()
        stack.callback(shopify.stop)
    else:
        shopify = stack.enter_context(FakeShopifyAdmin())
    smtp = stack.enter_context(FakeSmtp())
    if fakes is not None:
        fakes.update(shopify=shopify, smtp=smtp)
    base = shopify.url_for("{shop}").split("/admin/")[0]
    connectors = settings.file.connectors.model_copy(
        update={
            "shopify": settings.file.connectors.shopify.model_copy(update={"base_url": base}),
            "smtp": settings.file.connectors.smtp.model_copy(update={"host": "127.0.0.1", "port": smtp.port}),
        }
    )
    out.print(f"stand-ins: Shopify Admin API at {base}, SMTP at 127.0.0.1:{smtp.port}")
    return settings.model_copy(update={"file": settings.file.model_copy(update={"connectors": connectors})})


@cli.command()
def worker(
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve /metrics and /healthz on this port (0: any free port); off if unset")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="address the metrics port listens on")] = "127.0.0.1",
) -> None:
    """Run the pipeline and the outbox sender until interrupted (SIGINT or SIGTERM)."""
    from opsdesk.background import Background
    from opsdesk.web.metrics_port import MetricsPort

    desk = desk_for(config, database_url)
    _start(desk)
    background = Background(desk)
    port = None if metrics_port is None else MetricsPort(desk, background, metrics_host, metrics_port)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    background.start()
    with port or contextlib.nullcontext():
        err.print(f"worker running on {shown_url(desk.settings.database_url)}", soft_wrap=True)
        if port is not None:
            err.print(f"metrics on {port.url}", soft_wrap=True)
        stopped.wait()
    background.close()


@policy_cli.command("check")
def policy_check(
    paths: Annotated[list[Path] | None, typer.Argument(help="playbook files or folders")] = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Check playbooks: unknown keys, bad expressions, type errors, unreachable rules (file:line:column)."""
    from opsdesk.policy import loader

    settings = load_settings(config, None)
    targets = paths or [settings.playbooks_dir]
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise InvalidInput(f"no such file or folder: {', '.join(missing)}")
    loaded, found = loader.check_files(targets)
    playbooks = [playbook for _file, playbook in loaded]
    # With opsdesk.yaml: a rule escalating to a queue with no team or SLA of its own (a typo) fails too (ADR 0046).
    # Text as written (a playbook's problem without its field); as JSON, as opsdesk check's (ADR 0060, session 15).
    problems = [*((str(d), d.problem()) for d in found), *((str(p), p) for p in cli_check.unrouted(settings, loaded))]
    data = {
        "ok": not problems,
        "problems": [problem.as_dict() for _text, problem in problems],
        "playbooks": [
            {"name": p.name, "owner": p.owner, "version": p.version, "rules": [r.id for r in p.rules]}
            for p in playbooks
        ],
    }
    if not emit(data, fmt):
        for text, _problem in problems:
            err.print(f"[red]{escape(text)}[/]", soft_wrap=True)
        for p in playbooks:
            out.print(f"[green]ok[/] {p.name} v{p.version}: {len(p.rules)} rules, owner {p.owner}")
    if problems:
        raise typer.Exit(1)


def _tune_garbage_collector() -> None:
    # The pipeline allocates many short-lived containers (parsed JSON) in batches; the default
    # thresholds run full collections over them again and again. Objects made at start-up are frozen.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def main() -> None:
    """Entry point: one place maps errors to messages and exit codes (``cli_errors``)."""
    _tune_garbage_collector()
    as_json = errors.asks_for_json(sys.argv[1:])
    try:
        logs.configure(os.environ, terminal=sys.stderr.isatty())
        code = cli(standalone_mode=False)
        if code == errors.INTERRUPTED:  # typer returns Ctrl-C (a KeyboardInterrupt) as its code: no command does
            sys.exit(errors.interrupted(as_json=as_json))
        sys.exit(code if isinstance(code, int) else 0)
    except OpsdeskError as exc:
        sys.exit(errors.refused(exc, err, as_json=as_json))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(errors.interrupted(as_json=as_json))
    except typer.TyperException as exc:
        sys.exit(errors.misused(exc, err, as_json=as_json))
    except Exception as exc:  # a bug, a process of opsdesk's own, or an OSError on a path it was given
        sys.exit(errors.failed(exc, err, as_json=as_json, given=errors.given_paths(sys.argv[1:])))
