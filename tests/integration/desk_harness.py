"""A desk wired through the real composition root, on a real SQLite file, with a config written to disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.ports import Clock, Connector
from opsdesk.services import tokens
from opsdesk.testing import RecordingConnector
from tests.pipeline_harness import STARTER
from tests.samples import SECRET, SHOP


def write_config(directory: Path, **overrides: object) -> Path:
    config = {"shops": [{"domain": SHOP}], "playbooks": str(STARTER), **overrides}
    path = directory / "opsdesk.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def make_desk(
    directory: Path,
    monkeypatch: object,
    *,
    database_url: str | None = None,
    clock: Clock | None = None,
    connectors: Mapping[str, Connector] | None = None,
    **overrides: object,
) -> Desk:
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)  # type: ignore[attr-defined]
    monkeypatch.delenv("OPSDESK_SHOPIFY_PREVIOUS_SECRET", raising=False)  # type: ignore[attr-defined]
    settings = load_settings(
        str(write_config(directory, **overrides)), database_url or f"sqlite:///{directory}/opsdesk.db"
    )
    if connectors is None:
        connectors = {"shopify": RecordingConnector("shopify"), "smtp": RecordingConnector("smtp")}
    return composition.build(settings, clock=clock, connectors=connectors)


def bearer(desk: Desk, name: str, role: str) -> dict[str, str]:
    """The ``Authorization`` header of a new API token named ``name`` with ``role``."""
    with desk.db.unit_of_work() as uow:
        value = tokens.create_token(uow, name, role, desk.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {value}"}
