"""The connectors the composition root wires into a desk (``app.build``), from the settings.

Those over HTTP are made the first time one is asked for: a command that talks to no provider (``cases list``,
``users add``) imports no HTTP client and loads no certificate authorities (ADR 0054, session 15). The SMTP
connector is made with the desk: it reads its CA file as the desk starts, and a wrong one stops it at its line.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from opsdesk.config import Settings
from opsdesk.connectors.email import SmtpEmail
from opsdesk.domain.readiness import ProbeAnswer
from opsdesk.metrics import Metrics
from opsdesk.ports import Connector

if TYPE_CHECKING:
    from opsdesk.connectors.shopify_token import ClientCredentials, GrantOutcome


class Connectors(Mapping[str, Connector]):
    """The desk's connectors by name (``names``, in order): ``ready`` ones, and the others, which ``make`` makes
    together the first time any of them is asked for (by one thread: the others wait for it)."""

    def __init__(self, names: Sequence[str], ready: Mapping[str, Connector],
                 make: Callable[[], Mapping[str, Connector]]) -> None:
        self._names = tuple(names)
        self._made = dict(ready)
        self._make = make
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Connector:
        if name in self._names and name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made.update(self._make())
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def desk_connectors(settings: Settings, metrics: Metrics | None = None) -> Connectors:
    """The connectors ``settings`` describe, those over HTTP made when first asked for; the Shopify token grants
    counted in ``metrics`` when given."""
    names = ("shopify", "chat", "smtp", *(("carrier",) if settings.file.connectors.carrier.carriers else ()))
    return Connectors(names, {"smtp": smtp_connector(settings)}, lambda: http_connectors(settings, metrics))


def smtp_connector(settings: Settings) -> SmtpEmail:
    smtp = settings.file.connectors.smtp
    return SmtpEmail(
        host=smtp.host,
        port=smtp.port,
        sender=smtp.sender,
        tls=smtp.tls_mode,
        ca_file=str(settings.config_path.parent / smtp.ca_file) if smtp.ca_file else None,
        username=os.environ.get(smtp.username_env or "", "") or None,
        password=os.environ.get(smtp.password_env or "", "") or None,
        timeout=smtp.timeout_seconds,
    )


def http_connectors(settings: Settings, metrics: Metrics | None = None) -> dict[str, Connector]:
    """The connectors over HTTP: Shopify's Admin API, the chat webhooks, and the carriers' label API when
    ``connectors.carrier`` names carriers."""
    from opsdesk.connectors.carrier import CarrierLabels
    from opsdesk.connectors.chat import ChatWebhook
    from opsdesk.connectors.shopify import ShopifyAdmin
    from opsdesk.connectors.shopify_token import ClientCredentials

    shopify_cfg = settings.file.connectors.shopify

    def graphql_url(shop: str) -> str:
        shop_cfg = settings.shop(shop)
        if shop_cfg and shop_cfg.admin_url:
            return shop_cfg.admin_url
        base = (shopify_cfg.base_url or "https://{shop}").replace("{shop}", shop)
        return f"{base.rstrip('/')}/admin/api/{shopify_cfg.api_version}/graphql.json"

    def token(shop: str) -> str:
        shop_cfg = settings.shop(shop)
        return os.environ.get(shop_cfg.access_token_env if shop_cfg else "OPSDESK_SHOPIFY_ACCESS_TOKEN", "")

    def granted(outcome: GrantOutcome) -> None:
        if metrics is not None:
            metrics.token_grants.labels(outcome).inc()

    def credentials(shop: str) -> ClientCredentials | None:
        shop_cfg = settings.shop(shop)
        if shop_cfg is None or not shop_cfg.client_id_env:
            return None
        secret_env = shop_cfg.client_secret_variable
        return ClientCredentials(os.environ.get(shop_cfg.client_id_env, ""), os.environ.get(secret_env, ""),
                                 shop_cfg.client_id_env, secret_env)

    connectors: dict[str, Connector] = {
        "shopify": ShopifyAdmin(graphql_url, token, timeout=shopify_cfg.timeout_seconds,
                                reserve=shopify_cfg.reserve_points, credentials_for=credentials,
                                on_grant=granted),
        "chat": ChatWebhook(),
    }
    carrier = settings.file.connectors.carrier
    if carrier.carriers:
        accounts = {name: (c.base_url, c.api_key_env) for name, c in carrier.carriers.items()}
        connectors["carrier"] = CarrierLabels(accounts, return_address=carrier.return_address,
                                              timeout=carrier.timeout_seconds)
    return connectors


def probe_page(url: str) -> ProbeAnswer:
    """A shop's page fetched over HTTP for the readiness probes (``PageProbe``), its HTTP client imported only
    when a page is fetched."""
    from opsdesk.connectors.storefront import PageProbe

    return PageProbe()(url)
