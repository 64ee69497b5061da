"""A running opsdesk (uvicorn on a free 127.0.0.1 port, pipeline and outbox threads on) whose Shopify and SMTP
connectors talk to the local stand-ins, and headless Chromium (Debian's ``/usr/bin/chromium``) driven by
Playwright. Nothing here downloads a browser: without ``/usr/bin/chromium`` the tests fail and say how
to install it (``apt-get install -y chromium``; ``scripts/ensure-chromium`` does it for ``make test``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.services import users
from opsdesk.web.app import create_app
from tests.integration.dashboard_harness import ORG, PASSWORD, USERS
from tests.integration.http_harness import serve
from tests.pipeline_harness import STARTER
from tests.samples import SECRET, SHOP

CHROMIUM = Path(os.environ.get("OPSDESK_CHROMIUM", "/usr/bin/chromium"))
TOKEN = "stand-in-token"


@dataclass
class Running:
    url: str
    desk: Desk
    shopify: FakeShopifyAdmin
    smtp: FakeSmtp

    def deliver(self, deliveries: list[dict[str, Any]]) -> None:
        """POST signed webhook deliveries to the running server, as Shopify does."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for d in deliveries:
                response = client.post("/webhooks/shopify", content=d["body"].encode(), headers=d["headers"])
                assert response.status_code == 200, response.text


def _config(directory: Path, shopify: FakeShopifyAdmin, smtp: FakeSmtp, org: dict[str, Any]) -> Path:
    playbooks = directory / "playbooks"
    playbooks.mkdir()
    (playbooks / "refunds.yaml").write_text((STARTER / "refunds.yaml").read_text())
    base = shopify.url_for("{shop}").split("/admin/")[0]
    config = {
        "shops": [{"domain": SHOP}],
        "playbooks": str(playbooks),
        "connectors": {"shopify": {"base_url": base}, "smtp": {"host": "127.0.0.1", "port": smtp.port}},
        "outbox": {"poll_seconds": 0.2, "base_delay_seconds": 0.2},
        **org,
    }
    path = directory / "opsdesk.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def desk_running(directory: Path, org: dict[str, Any] = ORG) -> Iterator[Running]:
    """A desk of ``org`` (people, teams, calendars, SLA policies) served with its users, in ``directory``."""
    with pytest.MonkeyPatch.context() as env, FakeShopifyAdmin(access_tokens=[TOKEN]) as shopify, \
            FakeSmtp() as smtp:
        env.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
        env.delenv("OPSDESK_SHOPIFY_PREVIOUS_SECRET", raising=False)
        env.setenv("OPSDESK_SHOPIFY_ACCESS_TOKEN", TOKEN)
        config = _config(directory, shopify, smtp, org)
        settings = load_settings(str(config), f"sqlite:///{directory}/opsdesk.db")
        desk = composition.build(settings)  # the real connectors, pointed at the stand-ins
        with desk.db.unit_of_work() as uow:
            for name, (display, role, person) in USERS.items():
                users.add_user(uow, name, PASSWORD, display, {"*": role}, person, now=desk.clock.now())
            uow.commit()
        try:
            with serve(create_app(desk)) as base:
                yield Running(base, desk, shopify, smtp)
        finally:
            desk.db.dispose()  # type: ignore[attr-defined]  # the SQL database of the composition root


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with desk_running(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set OPSDESK_CHROMIUM)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()
