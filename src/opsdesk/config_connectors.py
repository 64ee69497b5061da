"""The ``connectors:`` section of ``opsdesk.yaml``: the Shopify Admin API, the SMTP relay, the carriers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from opsdesk.config_model import Strict
from opsdesk.config_playbooks import CarrierConnectorConfig


class ShopifyConnectorConfig(Strict):
    api_version: str = "2026-07"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    base_url: str | None = None
    # Points of each shop's Admin API cost bucket the reconciliation sweep's reads leave for the desk's own
    # actions (a hold or a refund asks under 200): a read waits until the bucket holds its cost and these (ADR 0015).
    reserve_points: Annotated[float, Field(ge=0, le=10_000)] = 200.0


#: How the connection to the SMTP relay is encrypted (``connectors.smtp.tls``).
SmtpTls = Literal["implicit", "starttls", "none"]


class SmtpConfig(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1025
    sender: str = "desk@example.com"
    # implicit: TLS from the first byte (port 465); starttls: upgraded after the greeting (587); none: plain.
    # Unset, the older ``starttls: true`` still means starttls. The relay's certificate is always verified.
    tls: SmtpTls | None = None
    starttls: bool = False
    ca_file: str | None = None  # PEM CA certificates trusted instead of the system's, relative to opsdesk.yaml
    username_env: str | None = None
    password_env: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0

    @model_validator(mode="after")
    def _one_tls(self) -> SmtpConfig:
        if self.starttls and self.tls not in (None, "starttls"):
            raise ValueError(f"starttls: true contradicts tls: {self.tls} (tls alone says it)")
        if self.ca_file and self.tls_mode == "none":
            raise ValueError("ca_file goes with tls: implicit or starttls (a plain connection checks no certificate)")
        return self

    @property
    def tls_mode(self) -> SmtpTls:
        return self.tls or ("starttls" if self.starttls else "none")


class ConnectorsConfig(Strict):
    shopify: ShopifyConnectorConfig = ShopifyConnectorConfig()
    smtp: SmtpConfig = SmtpConfig()
    carrier: CarrierConnectorConfig = CarrierConnectorConfig()
