"""``opsdesk webhooks toml|list|subscribe``: the webhook subscriptions the desk needs, from its own topics."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from opsdesk.cli_common import ConfigOpt, FormatOpt, WideOpt, emit, load_settings
from opsdesk.cli_tables import Column, print_rows
from opsdesk.domain.errors import InvalidInput

if TYPE_CHECKING:
    from opsdesk.connectors.shopify_webhooks import WebhookSubscriptions

webhooks_cli = typer.Typer(no_args_is_help=True, help="Subscribe a shop's webhooks to the desk.")
out = Console()
err = Console(stderr=True)

ShopOpt = Annotated[str, typer.Option("--shop", help="a shop in opsdesk.yaml")]
UrlOpt = Annotated[str, typer.Option("--url", help="where Shopify delivers: https://…/webhooks/shopify")]
SUBSCRIPTIONS = (Column("topic", "id"), Column("id", "id"), Column("uri", "id"))
RESULTS = (Column("topic", "id"), Column("outcome"), Column("id", "id", rank=1), Column("detail", "text"))


@webhooks_cli.command("toml")
def toml(
    url: UrlOpt,
    api_version: Annotated[
        str | None, typer.Option(help="the payloads' API version (default: connectors.shopify.api_version)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the [webhooks] block of shopify.app.toml: every topic the desk reads, the compliance ones apart."""
    from opsdesk.services.webhook_subscriptions import app_toml

    version = api_version or load_settings(config, None).file.connectors.shopify.api_version
    sys.stdout.write(app_toml(url, version))


@webhooks_cli.command("list")
def list_subscriptions(shop: ShopOpt, config: ConfigOpt = None, fmt: FormatOpt = "text", wide: WideOpt = False
                       ) -> None:
    """The shop's webhook subscriptions made through the Admin API (not those of the app's configuration)."""
    from opsdesk.services.webhook_subscriptions import listed

    with _subscriptions(shop, config) as (admin, domain):
        found = listed(admin, domain)
    if not emit(found, fmt):
        print_rows(out, SUBSCRIPTIONS, [(s["topic"], s["id"], s["uri"]) for s in found], wide=wide,
                   title=f"{domain}: {len(found)} subscriptions")


@webhooks_cli.command("subscribe")
def subscribe_shop(
    shop: ShopOpt, url: UrlOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="read the subscriptions, say what would change")] = False,
    config: ConfigOpt = None, fmt: FormatOpt = "text", wide: WideOpt = False,
) -> None:
    """Subscribe every topic the desk reads but the compliance ones to URL; exit 1 when any is refused."""
    from opsdesk.services.webhook_subscriptions import Outcome, subscribe

    with _subscriptions(shop, config) as (admin, domain):
        results = subscribe(admin, domain, url, dry_run=dry_run)
    counts = {o.value: sum(r.outcome is o for r in results) for o in Outcome}
    if not emit({"shop": domain, "uri": url, "dry_run": dry_run, "counts": counts,
                 "topics": [r.as_dict() for r in results]}, fmt):
        verb = "would be " if dry_run else ""
        rows = [(r.topic, verb + r.outcome.value, r.id, r.detail) for r in results]
        print_rows(out, RESULTS, rows, wide=wide, title=f"{domain} -> {url}")
        out.print(escape(", ".join(f"{n} {verb}{o}" for o, n in counts.items() if n)), soft_wrap=True)
    if counts[Outcome.REFUSED.value] or counts[Outcome.FAILED.value]:
        raise typer.Exit(1)


@contextlib.contextmanager
def _subscriptions(shop: str, config: str | None) -> Iterator[tuple[WebhookSubscriptions, str]]:
    """The shop's subscriptions through the Shopify connector opsdesk.yaml configures (its token, its version)."""
    from opsdesk import app as composition
    from opsdesk.connectors.shopify import ShopifyAdmin

    settings = load_settings(config, None)
    domain = shop.lower()
    shops = [s.domain for s in settings.file.shops]
    if domain not in shops:
        raise InvalidInput(f"{shop} is not a shop in opsdesk.yaml (shops: {', '.join(shops) or 'none'})")
    connectors = composition.default_connectors(settings)
    shopify = connectors["shopify"]
    assert isinstance(shopify, ShopifyAdmin)
    try:
        yield shopify.webhook_subscriptions(settings.file.connectors.shopify.api_version), domain
    finally:
        for connector in connectors.values():
            close = getattr(connector, "close", None)
            if close is not None:
                close()
