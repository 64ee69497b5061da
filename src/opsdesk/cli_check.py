"""``opsdesk check`` (the readiness controls), ``opsdesk probe`` and ``opsdesk policy review``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.cli_common import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    desk_for,
    emit,
    load_settings,
    refuse_unknown_format,
)

if TYPE_CHECKING:
    from opsdesk import yamldoc
    from opsdesk.config import Settings, ShopConfig
    from opsdesk.connectors.shopify import ShopifyAdmin
    from opsdesk.desk import Desk
    from opsdesk.domain.policies import Playbook

log = logging.getLogger("opsdesk")
out = Console()
err = Console(stderr=True)
#: Offending records printed per failing control in text output (JSON has up to 20, and the counts).
SHOWN = 5


def check(
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="probe the shops' pages first (storefront, returns policy)")
    ] = True,
) -> None:
    """Measure the readiness controls; exits 1 when any control fails, naming what fails and why."""
    from opsdesk import config_check, yamldoc
    from opsdesk.readiness import registry

    settings = load_settings(config, database_url)
    with yamldoc.located(settings.config_path):  # every problem at once, in the file's order (ADR 0060)
        yamldoc.InvalidFields.refuse(config_check.configuration_problems(settings, datetime.now(UTC)))
    desk = desk_for(config, database_url)
    if probe:
        _probe(desk, quiet=fmt == "json")
    with desk.db.unit_of_work(read_only=True) as uow, yamldoc.located(desk.settings.config_path):
        report = registry.check(desk.settings, uow, desk.clock.now(), desk.playbooks, desk.org)
    data = report.as_dict()
    data["authentication"] = authentication(desk, obtain=probe)
    data["passed"] = report.passed and all(a["status"] != "fail" for a in data["authentication"])
    if not emit(data, fmt):
        _print_authentication(data["authentication"])
        _print(data)
    if not data["passed"]:
        raise typer.Exit(1)


def authentication(desk: Desk, *, obtain: bool) -> list[dict[str, Any]]:
    """How each shop's Admin API calls authenticate (ADR 0036). A shop with client credentials fails when its
    variables are unset or, with ``obtain``, when the grant gives no token; an unset static token is a warning
    (the desk runs without acting on Shopify)."""
    from opsdesk.connectors.shopify import ShopifyAdmin

    shopify = desk.connectors.get("shopify")
    return [_by_grant(shop, shopify if obtain and isinstance(shopify, ShopifyAdmin) else None)
            if shop.client_id_env else _by_static_token(shop) for shop in desk.settings.file.shops]


def _by_grant(shop: ShopConfig, shopify: ShopifyAdmin | None) -> dict[str, Any]:
    assert shop.client_id_env
    secret = shop.client_secret_variable
    unset = shop.unset_admin_credentials()
    problem = f"{' and '.join(unset)} not set" if unset else None
    if problem is None and shopify is not None:
        problem = shopify.token_problem(shop.domain)
    found = "a token was obtained" if shopify is not None else "set (no token asked for: --no-probe)"
    return {"shop": shop.domain, "method": "client_credentials", "status": "fail" if problem else "pass",
            "how": f"client credentials grant (client ID in {shop.client_id_env}, secret in {secret})",
            "detail": problem or found}


def _by_static_token(shop: ShopConfig) -> dict[str, Any]:
    found = not shop.unset_admin_credentials()
    return {"shop": shop.domain, "method": "access_token", "status": "pass" if found else "warn",
            "how": f"static access token in {shop.access_token_env}",
            "detail": "set" if found else "not set: actions on Shopify are rejected"}


def _print_authentication(rows: list[dict[str, Any]]) -> None:
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}
    for row in rows:
        out.print(f"[{colour[row['status']]}]{row['status']}[/]  [bold]shopify-auth[/] {row['shop']}: "
                  f"{escape(row['how'])}: {escape(row['detail'])}", soft_wrap=True)


def _print(data: dict[str, Any]) -> None:
    for control in data["controls"]:
        mark = "[green]pass[/]" if control["status"] == "pass" else f"[red]{control['status']}[/]"
        out.print(f"{mark}  [bold]{control['control']}[/]: {escape(control['title'])}", soft_wrap=True)
        out.print(f"      {escape(control['reason'])}", soft_wrap=True)
        if control["status"] == "pass":
            continue
        for o in control["offending"][:SHOWN]:
            out.print(f"      - {o['kind']} {escape(o['id'])}: {escape(o['detail'])}", soft_wrap=True)
        if len(control["offending"]) > SHOWN:
            out.print(f"      - ... and more (--format json lists up to {len(control['offending'])})")
        out.print(f"      fix: {control['fix']}", soft_wrap=True)
    failed = data["failed"]
    summary = f"{len(data['controls']) - len(failed)} of {len(data['controls'])} controls pass"
    line = f"[green]{summary}[/]" if not failed else f"[red]{summary}; failing: {', '.join(failed)}[/]"
    out.print(line, soft_wrap=True)


def _probe(desk: Desk, *, quiet: bool) -> None:
    from opsdesk.connectors.storefront import PageProbe
    from opsdesk.readiness import evidence

    for p in evidence.run_probes(desk.db, desk.settings, PageProbe(), desk.clock):
        if not quiet:
            answer = f"{p.status_code} in {p.elapsed_ms} ms" if p.status_code is not None else p.error
            err.print(f"probed {p.kind} of {p.shop}: {p.url} -> {escape(answer)}", soft_wrap=True)


def probe(config: ConfigOpt = None, database_url: DbOpt = None, fmt: FormatOpt = "text") -> None:
    """Probe each shop's storefront and returns policy page once and record the results (run it daily)."""
    from opsdesk.connectors.storefront import PageProbe
    from opsdesk.readiness import evidence

    desk = desk_for(config, database_url)
    probes = evidence.run_probes(desk.db, desk.settings, PageProbe(), desk.clock)
    data: list[dict[str, Any]] = [
        {"kind": p.kind, "shop": p.shop, "url": p.url, "at": p.at, "status_code": p.status_code,
         "elapsed_ms": p.elapsed_ms, "error": p.error}
        for p in probes
    ]
    if not emit(data, fmt):
        for p in data:
            answer = f"{p['status_code']} in {p['elapsed_ms']} ms" if p["status_code"] is not None else p["error"]
            out.print(f"{p['kind']} of {p['shop']}: {p['url']} -> {escape(answer)}", soft_wrap=True)
        if not data:
            err.print("nothing to probe: set storefront_url / returns_policy_url on the shops in opsdesk.yaml")


def policy_review(
    playbook: Annotated[str, typer.Argument(help="the playbook reviewed, e.g. risk")],
    by: Annotated[str, typer.Option("--by", help="who reviewed it")],
    note: Annotated[str, typer.Option(help="what was looked at or changed")] = "",
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Record a review of a playbook's current version (audited); the fraud-rules control reads it.

    The JSON is the review recorded: the playbook, the version reviewed, who, when and the note."""
    from opsdesk.readiness import evidence

    refuse_unknown_format(fmt)
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        review = evidence.record_review(uow, desk.playbooks, playbook, by, desk.clock.now(), note)
        uow.commit()
    data = {"playbook": review.playbook, "version": review.version, "reviewer": review.reviewer,
            "reviewed_at": review.reviewed_at, "note": review.note}
    if not emit(data, fmt):
        out.print(f"recorded: {review.playbook} v{review.version} reviewed by {review.reviewer} at "
                  f"{review.reviewed_at}")


def unrouted(settings: Settings, loaded: Sequence[tuple[Path, Playbook]]) -> list[yamldoc.Problem]:
    """``opsdesk policy check``'s look at the playbooks with opsdesk.yaml (when there is one): each rule (and setting)
    whose cases go to a queue with no team or SLA of its own (ADR 0046), at the queue where it is written (its
    section, when the queue is the default) in the playbook's file or opsdesk.yaml (ADR 0060, session 15)."""
    from opsdesk import yamldoc
    from opsdesk.domain.org import escalations
    from opsdesk.organisation import build_org, unrouted_settings

    if not settings.config_path.is_file():
        return []
    with yamldoc.located(settings.config_path):
        org = build_org(settings.file)
    found: list[yamldoc.Problem] = []
    for file, playbook in loaded:
        if cases := [(keys, why) for _rule, keys, case in escalations(playbook)
                     if (why := org.unrouted(case.queue, case.priority))]:
            document = yamldoc.load(file)
            found += [document.problem([*keys, "queue"], why) for keys, why in cases]
    if settings_found := unrouted_settings(org, settings.file):
        config = yamldoc.load(settings.config_path)
        found += [config.problem([*keys, "queue"], why) for keys, why in settings_found]
    return found


def warn_unrouted(desk: Desk) -> None:
    """At the start of ``serve`` and ``worker``: one warning per rule escalating to a queue with no team or SLA of
    its own. The desk starts all the same (refusing would lose webhooks over a typo): its cases run on the default
    SLA, and the readiness control ``automations-owned`` fails until it is fixed (ADR 0046)."""
    from opsdesk.domain.org import unrouted_escalations
    from opsdesk.organisation import unrouted_settings

    found = [*unrouted_escalations(desk.org, desk.playbooks),
             *((".".join(keys), why) for keys, why in unrouted_settings(desk.org, desk.settings.file))]
    for where, why in found:
        log.warning("%s: %s; readiness control automations-owned fails until the queue is fixed", where, why,
                    extra={"rule": where})


def unknown_default_owners(desk: Desk) -> list[yamldoc.Problem]:
    """Each shop whose ``default_owner`` is no person or team of the organisation, where ``opsdesk.yaml`` says it
    (``config_check.unknown_default_owners``): ``check`` refuses it as a configuration error; ``serve`` and ``worker``
    warn and start (ADR 0060)."""
    from opsdesk import config_check, yamldoc

    strange = config_check.unknown_default_owners(desk.org, desk.settings.file)
    if not strange:
        return []
    document = yamldoc.load(desk.settings.config_path)
    return [document.problem(field.keys, field.problem) for field in strange]


def warn_at_start(desk: Desk) -> None:
    """At the start of ``serve`` and ``worker``: what would go wrong quietly, one warning each (a queue with no team or
    SLA, ``warn_unrouted``; a shop's default owner nobody is), and start all the same: refusing would lose webhooks
    over a typo."""
    warn_unrouted(desk)
    for problem in unknown_default_owners(desk):
        log.warning("%s; readiness control order-owners fails until it is fixed", problem,
                    extra={"setting": problem.at})
