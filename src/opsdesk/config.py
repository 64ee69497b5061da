"""Settings from the environment and ``opsdesk.yaml``, validated with errors naming file, key and problem.

Built only at entry points (the CLI and the app factory); never at import time.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsdesk import yamldoc
from opsdesk.config_connectors import ConnectorsConfig, SmtpConfig
from opsdesk.config_discounts_pickups import DiscountGuardConfig, WarehouseConfig
from opsdesk.config_model import Strict, Zone
from opsdesk.config_org import (
    CalendarConfig,
    OwnershipConfig,
    PersonConfig,
    QueueConfig,
    SlaPolicyConfig,
    TeamConfig,
)
from opsdesk.config_playbooks import MonitorsConfig
from opsdesk.config_reconcile import ReconcileConfig
from opsdesk.domain.audit import AuditKeys, audit_key
from opsdesk.domain.errors import InvalidInput

# The sections of connectors and of the organisation are beside this module; here too, where callers have them.
__all__ = ["CalendarConfig", "FileConfig", "PersonConfig", "QueueConfig", "ReconcileConfig", "Settings", "ShopConfig",
           "SlaPolicyConfig", "SmtpConfig", "TeamConfig", "load_file", "load_settings"]


class ShopConfig(Strict):
    domain: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")]
    secret_env: str | None = None
    previous_secret_env: str | None = None  # the shop's secret before a rotation, accepted beside secret_env's
    access_token_env: str = "OPSDESK_SHOPIFY_ACCESS_TOKEN"
    # A Dev Dashboard app of the store's own organisation: tokens by the client credentials grant (ADR 0036),
    # instead of the static token above. The secret defaults to the one webhooks are verified with.
    client_id_env: str | None = None
    client_secret_env: str | None = None
    admin_url: str | None = None
    currency: str = "USD"
    timezone: Zone = "UTC"  # a typo would fail only when an order first needs the shop's zone
    handling_hours: Annotated[int, Field(ge=0, le=24 * 30)] = 48
    default_owner: str | None = None  # who owns its orders; unset: the default team (ownership.default_team)
    storefront_url: str | None = None  # probed daily for site speed (readiness)
    returns_policy_url: str | None = None  # must answer (readiness)

    @model_validator(mode="after")
    def _previous_with_own(self) -> ShopConfig:
        if self.previous_secret_env and not self.secret_env:
            raise ValueError("previous_secret_env goes with secret_env: without a secret of its own, the shop's "
                             "deliveries are checked with OPSDESK_SHOPIFY_SECRET and _PREVIOUS_SECRET")
        return self

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> ShopConfig:
        if self.client_secret_env and not self.client_id_env:
            raise ValueError("client_secret_env needs client_id_env (the app's client ID)")
        if self.client_id_env and "access_token_env" in self.model_fields_set:
            raise ValueError("access_token_env and client_id_env: choose one (a static token, or the grant)")
        return self

    @property
    def client_secret_variable(self) -> str:
        """The variable holding the app's client secret: ``client_secret_env``, else the webhook secret's."""
        return self.client_secret_env or self.secret_env or "OPSDESK_SHOPIFY_SECRET"

    def unset_admin_credentials(self) -> list[str]:
        """The environment variables of the shop's Admin API credentials that are unset (or empty), read now: the
        static token's, or the grant's client ID and secret (ADR 0036)."""
        names = (self.client_id_env, self.client_secret_variable) if self.client_id_env else (self.access_token_env,)
        return [name for name in names if not os.environ.get(name)]


class OutboxConfig(Strict):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    base_delay_seconds: Annotated[float, Field(gt=0)] = 1.0
    max_delay_seconds: Annotated[float, Field(gt=0)] = 300.0
    breaker_threshold: Annotated[int, Field(ge=1)] = 5
    breaker_cool_down_seconds: Annotated[float, Field(gt=0)] = 30.0
    lease_seconds: Annotated[float, Field(gt=0)] = 60.0
    poll_seconds: Annotated[float, Field(gt=0)] = 0.5


class LimitsConfig(Strict):
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 2 * 1024 * 1024
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500


class PackagingConfig(Strict):
    """A packaging material's stock and how fast it goes: per day, or per order (from order volume)."""

    stock: Annotated[float, Field(ge=0)]
    daily_usage: Annotated[float, Field(ge=0)] | None = None
    per_order: Annotated[float, Field(ge=0)] | None = None


class ReadinessConfig(Strict):
    """Readiness controls: extra ones (``module:attribute``), ones to skip, thresholds, inputs."""

    controls: list[str] = []
    skip: list[str] = []
    thresholds: dict[str, dict[str, float]] = {}
    risk_playbook: str = "risk"
    packaging: dict[str, PackagingConfig] = {}


class AuthConfig(Strict):
    """Dashboard sign-in: session lifetimes (ASVS caps them at 30 min idle and 12 h in all), sign-in
    throttling, and the cookies' Secure flag (``auto``: set unless served over plain http on loopback,
    for local development; there is no way to turn it off elsewhere)."""

    session_idle_minutes: Annotated[int, Field(ge=1, le=30)] = 30
    session_absolute_hours: Annotated[int, Field(ge=1, le=12)] = 12
    max_failed_logins_per_hour: Annotated[int, Field(ge=1, le=100)] = 20
    secure_cookies: Literal["auto", "always"] = "auto"


class OrderPlaybooksConfig(Strict):
    """Knobs of the order-side default playbooks that are not rule conditions (those are in the YAML)."""

    payment_pending_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 30  # then re-check and remind
    oversold_max_orders: Annotated[int, Field(ge=1, le=1000)] = 50  # orders held per stock level below zero
    wrong_item_repeat_after: Annotated[int, Field(ge=1, le=100)] = 2  # wrong picks of a SKU: high priority


class RetentionConfig(Strict):
    """How long raw deliveries are kept (docs/reference/webhook-intake.md#retention, ADR 0025)."""

    # Processed and ignored deliveries older than this are deleted, their decisions, cases and audit kept.
    # Unset: kept for good. At least 31 days: readiness reads the last 30 days of orders, and Shopify
    # retries a delivery for 4 hours (48 before September 2024), so a deleted one is never delivered again.
    deliveries_days: Annotated[int, Field(ge=31, le=3650)] | None = None


class PrivacyConfig(Strict):
    """Privacy requests (docs/reference/privacy.md, ADR 0016)."""

    # Where ``customers/data_request`` exports are written, relative to opsdesk.yaml; one folder per shop.
    export_dir: str = "privacy-exports"


class ClockConfig(Strict):
    """A desk that goes on from a simulated day (ADR 0043): its time is ``resume_at`` plus the wall time since
    ``since``, the same in serve, the worker and every command. ``opsdesk demo`` writes it; a store has none."""

    resume_at: AwareDatetime
    since: AwareDatetime


class FileConfig(Strict):
    shops: list[ShopConfig] = []
    playbooks: str = "playbooks"
    connectors: ConnectorsConfig = ConnectorsConfig()
    outbox: OutboxConfig = OutboxConfig()
    limits: LimitsConfig = LimitsConfig()
    calendars: dict[str, CalendarConfig] = {}
    sla_policies: dict[str, SlaPolicyConfig] = {}
    queues: dict[str, QueueConfig] = {}
    teams: dict[str, TeamConfig] = {}
    people: dict[str, PersonConfig] = {}
    ownership: OwnershipConfig = OwnershipConfig()
    order_playbooks: OrderPlaybooksConfig = OrderPlaybooksConfig()
    auth: AuthConfig = AuthConfig()
    monitors: MonitorsConfig = MonitorsConfig()  # the fulfilment-side playbooks' thresholds
    reconcile: ReconcileConfig = ReconcileConfig()  # the sweep that finds lost webhooks
    retention: RetentionConfig = RetentionConfig()  # how long raw deliveries are kept
    privacy: PrivacyConfig = PrivacyConfig()  # customers/data_request exports
    readiness: ReadinessConfig = ReadinessConfig()
    discount_guard: DiscountGuardConfig = DiscountGuardConfig()  # docs/playbooks/discount-glitch.md
    warehouses: dict[str, WarehouseConfig] = {}  # carrier pickups; docs/playbooks/carrier-pickup-cutoff.md
    clock: ClockConfig | None = None  # unset: the wall clock
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "FULL"
    # Below Shopify's 5 s delivery timeout, so a locked database answers 503 rather than a time-out.
    sqlite_busy_timeout_ms: Annotated[int, Field(ge=10, le=60_000)] = 4000

    def order_owner(self, shop: ShopConfig) -> str:
        """Who owns a new order of ``shop``: its ``default_owner``, else the organisation's default team."""
        return shop.default_owner or f"team:{self.ownership.default_team}"


class Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSDESK_", extra="ignore")

    database_url: str = "sqlite:///opsdesk.db"
    config: str = "opsdesk.yaml"
    shopify_secret: str | None = None
    shopify_previous_secret: str | None = None
    audit_key: str | None = None
    audit_previous_key: str | None = None
    metrics_token: str | None = None


class Settings(BaseModel):
    """Everything an entry point needs, resolved: the file's settings, the environment, the paths."""

    model_config = ConfigDict(frozen=True)

    database_url: str
    config_path: Path
    file: FileConfig
    shopify_secret: str | None
    shopify_previous_secret: str | None
    # The audit chain's HMAC keys (ADR 0024), kept outside the database; never printed.
    audit_keys: AuditKeys = Field(default_factory=AuditKeys, repr=False)
    # The bearer token ``/metrics`` requires, when set (ADR 0035); never printed.
    metrics_token: str | None = Field(default=None, repr=False)

    @property
    def warehouses(self) -> dict[str, WarehouseConfig]:
        """The warehouses by id, with their carriers' pickup schedules (``warehouses:``)."""
        return self.file.warehouses

    @property
    def privacy_export_dir(self) -> Path:
        return (self.config_path.parent / self.file.privacy.export_dir).resolve()

    @property
    def playbooks_dir(self) -> Path:
        return (self.config_path.parent / self.file.playbooks).resolve()

    def shop(self, domain: str) -> ShopConfig | None:
        # Asked twice per delivery (the secret and whether the shop is known): a lookup, not a scan.
        return self._shops_by_domain.get(domain.lower())

    @cached_property
    def _shops_by_domain(self) -> dict[str, ShopConfig]:
        """The shops by domain; the first one listed wins, as the scan this replaces returned it."""
        found: dict[str, ShopConfig] = {}
        for shop in self.file.shops:
            found.setdefault(shop.domain, shop)
        return found

    def secrets_for(self, domain: str) -> tuple[str, ...]:
        """The secrets a delivery from ``domain`` may be signed with: the shop's own (its previous one too while
        set, during a rotation; never alone), else the app's two. Read from the environment at each call."""
        shop = self.shop(domain)
        if shop is not None and shop.secret_env:
            own = os.environ.get(shop.secret_env)
            previous = os.environ.get(shop.previous_secret_env) if shop.previous_secret_env else None
            return tuple(s for s in (own, previous) if s) if own else ()
        return tuple(s for s in (self.shopify_secret, self.shopify_previous_secret) if s)


def load_settings(config_path: str | None = None, database_url: str | None = None) -> Settings:
    env = Environment()
    path = Path(config_path or env.config)
    named = config_path is not None or "config" in env.model_fields_set
    if named and not path.is_file():
        # A file someone named (--config, OPSDESK_CONFIG) is never replaced by the defaults: a typo would run
        # a desk with no shops and no playbooks. Only the default opsdesk.yaml may be absent.
        source = "--config" if config_path is not None else "OPSDESK_CONFIG"
        raise InvalidInput(f"no such configuration file: {path} ({source}); opsdesk init writes one")
    return Settings(
        database_url=database_url or env.database_url,
        config_path=path.resolve(),
        file=load_file(path) if path.exists() else FileConfig(),
        shopify_secret=env.shopify_secret,
        shopify_previous_secret=env.shopify_previous_secret,
        audit_keys=AuditKeys(
            audit_key(env.audit_key, "OPSDESK_AUDIT_KEY"),
            audit_key(env.audit_previous_key, "OPSDESK_AUDIT_PREVIOUS_KEY"),
        ),
        metrics_token=env.metrics_token or None,
    )


def load_file(path: Path) -> FileConfig:
    document = yamldoc.load(path)
    data = document.data if document.data is not None else {}
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        raise yamldoc.InvalidDocument.listing("invalid configuration", _explain(exc, document)) from exc


def _explain(exc: ValidationError, document: yamldoc.Document) -> list[yamldoc.Problem]:
    """Each field that is wrong, where it is written and why (pydantic's message: never the value)."""
    problems = []
    for error in exc.errors():
        keys = [k for k in error["loc"] if isinstance(k, str | int)]
        unknown = error["type"] == "extra_forbidden"
        problem = "unknown key" if unknown else error["msg"]
        problems.append(document.problem(keys, problem, of_key=unknown))
    return problems
