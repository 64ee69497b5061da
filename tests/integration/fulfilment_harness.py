"""A desk for the fulfilment-side playbooks: real SQLite (or PostgreSQL), fake carrier and SMTP servers, a manual clock.

Shopify stays a recording connector: these scenarios assert what the desk asks of Shopify (holds and
releases), not how Shopify answers, which tests/integration/test_shopify_connector.py covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsdesk import app as composition
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.domain.cases import Case
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.engine.outbox import OutboxSender
from opsdesk.engine.timers import TimerSweeper
from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.smtp import FakeSmtp
from opsdesk.testing import ManualClock, RecordingConnector
from tests.conftest import SQL_BACKENDS
from tests.pipeline_harness import feed
from tests.samples import SECRET, SHOP, sample

#: Monday 2026-01-05 10:00 in New York: inside the support calendar's business hours.
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
ORDER_ID = 4783296544821  # the order of Shopify's returns/* samples
RETURN_ID = 123134564567890

ORG: dict[str, Any] = {
    "calendars": {
        "support": {
            "timezone": "America/New_York",
            "hours": {d: ["09:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
        "always": {"always_open": True},
    },
    "sla_policies": {
        "returns": {"calendar": "support", "targets": {"resolution": "4h"}},
        "fulfilment": {"calendar": "support", "targets": {"resolution": "8h"}},
        "incident": {"calendar": "always", "targets": {"resolution": "30m"}},
    },
    "people": {
        "rita": {"name": "Rita", "email": "rita@example.com"},
        "fred": {"name": "Fred", "email": "fred@example.com"},
        "olga": {"name": "Olga", "email": "olga@example.com"},
    },
    "teams": {
        "returns": {"members": ["rita"], "lead": "rita", "calendar": "support"},
        "warehouse": {"members": ["fred"], "lead": "fred", "calendar": "support"},
        "ops": {"members": ["olga"], "lead": "olga", "on_call": ["olga"], "calendar": "support"},
    },
    "queues": {
        "returns": {"team": "returns", "sla": "returns"},
        "fulfilment": {"team": "warehouse", "sla": "fulfilment"},
        "incidents": {"team": "ops", "sla": "incident"},
    },
    "outbox": {"max_attempts": 3, "base_delay_seconds": 1, "max_delay_seconds": 5, "breaker_threshold": 50},
}


@dataclass
class Run:
    """A wired desk and the parts a scenario drives."""

    desk: Desk
    clock: ManualClock
    sender: OutboxSender
    sweeper: TimerSweeper
    shopify: RecordingConnector

    def feed(self, *deliveries: dict[str, Any]) -> None:
        feed(self.desk.db, deliveries, self.clock)

    def settle(self) -> None:
        """Process deliveries, send due actions and fire due timers until nothing more is due now."""
        for _ in range(50):
            work = self.desk.process_pending().deliveries + self.sender.run_once() + self.sweeper.run_once()
            if not work:
                return
        raise AssertionError("the desk did not settle")

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)
        self.settle()

    def cases(self, **where: Any) -> list[Case]:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return uow.cases.search(CaseFilter(**where))

    def customer_mail(self, smtp: FakeSmtp, to: str = "jon@example.com") -> list[str]:
        """The subjects of the messages the customer received (desk digests to people left out)."""
        return [m.subject for m in smtp.messages if m.to == to]

    def told(self, smtp: FakeSmtp, person: str, about: str) -> int:
        """How many of the desk's notifications to ``person`` (in the digests mailed to them) say ``about``."""
        digests = [m.body for m in smtp.messages if m.to == f"{person}@example.com"]
        return sum(body.count(about) for body in digests)

    def actions(self, kind: str) -> list[OutboxAction]:
        with self.desk.db.unit_of_work(read_only=True) as uow:
            return [a for a in uow.outbox.for_order(SHOP, ORDER_ID) if a.kind == kind]


@pytest.fixture(name="db_url", params=SQL_BACKENDS)
def db_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each SQL backend in turn (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/opsdesk.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def carrier_connector(carrier: FakeCarrier) -> dict[str, Any]:
    """The ``connectors.carrier`` configuration for the carrier stand-in: UPS first, FedEx the fallback."""
    return {
        "carriers": {
            "ups": {"base_url": carrier.url_for("ups")},
            "fedex": {"base_url": carrier.url_for("fedex")},
        },
        "primary": "ups",
        "fallback": "fedex",
        "timeout_seconds": 2,
        "return_address": {
            "name": "Returns dept",
            "street1": "1 Dock Road",
            "zip": "10001",
            "country": "US",
        },
    }


def make_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    carrier: FakeCarrier | None = None,
    smtp: FakeSmtp | None = None,
    monitors: dict[str, Any] | None = None,
    database_url: str | None = None,
    timezone: str = "America/New_York",
    outbox: dict[str, Any] | None = None,
    extra_connectors: dict[str, Any] | None = None,
    extra_config: dict[str, Any] | None = None,
) -> Run:
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    connectors: dict[str, Any] = {}
    if carrier is not None:
        connectors["carrier"] = carrier_connector(carrier)
    if smtp is not None:
        connectors["smtp"] = {"host": smtp.host, "port": smtp.port, "timeout_seconds": 2}
    config = {
        "shops": [{"domain": SHOP, "timezone": timezone, "default_owner": "olga"}],
        "playbooks": "none",
        "connectors": connectors,
        "monitors": monitors or {},
        **ORG,
    }
    config["outbox"] = {**ORG["outbox"], **(outbox or {})}
    config.update(extra_config or {})
    path = tmp_path / "opsdesk.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load_settings(str(path), database_url or f"sqlite:///{tmp_path}/opsdesk.db")
    shopify = RecordingConnector("shopify")
    wired = {**composition.default_connectors(settings), "shopify": shopify}
    if smtp is None:
        wired["smtp"] = RecordingConnector("smtp")
    wired.update(extra_connectors or {})
    clock = ManualClock(START)
    desk = composition.build(settings, clock=clock, connectors=wired, playbooks=[])
    return Run(desk, clock, desk.sender("test"), desk.sweeper("test"), shopify)


def paid_order(order_id: int = ORDER_ID, *, at: datetime = START, **changes: Any) -> dict[str, Any]:
    """Shopify's orders/paid sample as a live paid, unfulfilled order placed at ``at``."""
    order = sample("orders/paid")
    order.update(
        {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "cancelled_at": None,
            "cancel_reason": None,
            "financial_status": "paid",
            "fulfillment_status": None,
            "created_at": at.isoformat(),
            "updated_at": at.isoformat(),
            **changes,
        }
    )
    return order


def audit_actions(run: Run) -> list[str]:
    """The audit log's automation actions, in order (read straight from the table)."""
    from sqlalchemy import select

    from opsdesk.storage import tables

    engine = run.desk.db.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(tables.audit.c.action).order_by(tables.audit.c.id)).all()
    return [row[0] for row in rows]
