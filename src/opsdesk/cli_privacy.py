"""``opsdesk privacy export|redact|redact-shop``: the privacy requests by hand (docs/reference/privacy.md).

The same services the compliance webhooks run; by hand for a request that came another way (by email
to the shop), or to run one again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from opsdesk.cli_common import ConfigOpt, DbOpt, FormatOpt, desk_for, emit
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.privacy import PrivacySubject

if TYPE_CHECKING:
    from opsdesk.desk import Desk
    from opsdesk.services.privacy import PrivacyReport

privacy_cli = typer.Typer(no_args_is_help=True, help="Privacy requests: export or erase a customer's data.")
out = Console()

ShopOpt = Annotated[str, typer.Option("--shop", help="the shop's myshopify.com domain")]
CustomerOpt = Annotated[int | None, typer.Option("--customer", help="Shopify's customer id")]
EmailOpt = Annotated[str, typer.Option("--email", help="the customer's email")]
PhoneOpt = Annotated[str, typer.Option("--phone", help="the customer's phone number")]
OrdersOpt = Annotated[list[int] | None, typer.Option("--order", help="an order of theirs (repeatable)")]


def _subject(shop: str, customer: int | None, email: str, phone: str, orders: list[int] | None) -> PrivacySubject:
    if customer is None and not email:
        raise InvalidInput("name the customer: --customer ID and/or --email ADDRESS")
    return PrivacySubject(shop.lower(), customer, email, phone, frozenset(orders or ()))


def _served(desk: Desk, shop: str) -> str:
    """The shop, refused as ``reconcile`` refuses it when opsdesk.yaml does not list it: a typo would write an
    empty export (or erase nothing) and exit 0. ``redact-shop`` takes any shop: it is for a shop that left."""
    shops = [s.domain for s in desk.settings.file.shops]
    if shop.lower() not in shops:
        raise InvalidInput(f"{shop} is not a shop in opsdesk.yaml (shops: {', '.join(shops) or 'none'})")
    return shop.lower()


def _print(report: PrivacyReport, fmt: str) -> None:
    if emit(report.as_dict(), fmt):
        return
    tables = ", ".join(f"{name} {n}" for name, n in sorted(report.tables.items())) or "nothing stored"
    out.print(f"{report.kind} for {report.shop}: {report.fields} fields; rows by table: {tables}", soft_wrap=True)
    if report.audit_rows:
        out.print(f"{report.audit_rows} audit rows erased and vouched for by a redaction entry")
    if report.export:
        out.print(f"export written to {report.export}", soft_wrap=True)  # a path to copy: never folded
    if report.exports_erased:
        out.print(f"{report.exports_erased} earlier export file(s) removed")


@privacy_cli.command("export")
def export(
    shop: ShopOpt,
    customer: CustomerOpt = None,
    email: EmailOpt = "",
    phone: PhoneOpt = "",
    order: OrdersOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Write every stored field that holds a customer's data to the export folder (privacy.export_dir)."""
    from opsdesk import app as composition
    from opsdesk.services.privacy import export_customer

    desk = desk_for(config, database_url)
    subject = _subject(_served(desk, shop), customer, email, phone, order)
    sink = composition.export_files(desk.settings.privacy_export_dir)
    with desk.db.unit_of_work() as uow:
        report, _ = export_customer(uow, subject, desk.clock.now(), sink.write)
        uow.commit()
    _print(report, fmt)


@privacy_cli.command("redact")
def redact(
    shop: ShopOpt,
    customer: CustomerOpt = None,
    email: EmailOpt = "",
    phone: PhoneOpt = "",
    order: OrdersOpt = None,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Erase a customer's personal data everywhere it is stored (ids, amounts and statuses stay)."""
    from opsdesk import app as composition
    from opsdesk.services.privacy import erase_exports, redact_customer

    desk = desk_for(config, database_url)
    subject = _subject(_served(desk, shop), customer, email, phone, order)
    with desk.db.unit_of_work() as uow:
        report = redact_customer(uow, subject, desk.clock.now())
        erase_exports(composition.export_files(desk.settings.privacy_export_dir), report)
        uow.commit()
    _print(report, fmt)


@privacy_cli.command("redact-shop")
def redact_shop_command(
    shop: ShopOpt,
    yes: Annotated[bool, typer.Option("--yes", help="really erase everything stored about the shop")] = False,
    config: ConfigOpt = None,
    database_url: DbOpt = None,
    fmt: FormatOpt = "text",
) -> None:
    """Erase everything stored about a shop (what ``shop/redact`` does)."""
    from opsdesk import app as composition
    from opsdesk.services.privacy import erase_exports, redact_shop

    if not yes:
        raise InvalidInput("this erases every order, case and delivery of the shop: add --yes")
    desk = desk_for(config, database_url)
    with desk.db.unit_of_work() as uow:
        report = redact_shop(uow, shop.lower(), desk.clock.now())
        erase_exports(composition.export_files(desk.settings.privacy_export_dir), report)
        uow.commit()
    _print(report, fmt)
