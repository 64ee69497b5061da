"""Settings, people and rows for the readiness controls' tests, and a control measured on the in-memory database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from opsdesk.config import FileConfig, Settings
from opsdesk.domain.cases import CaseChange, CaseStatus, Changed
from opsdesk.domain.policies import Playbook
from opsdesk.domain.readiness import Result
from opsdesk.domain.records import CaseRecord, OutboxAction, RawDelivery
from opsdesk.organisation import build_org
from opsdesk.readiness import registry
from opsdesk.testing import InMemoryDatabase, replace
from tests.contract.test_readiness_repository import SHOP

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PEOPLE = {
    "people": {"alice": {"name": "Alice"}, "bob": {"name": "Bob"}, "carol": {"name": "Carol"}},
    "teams": {"support": {"members": ["alice", "bob"], "lead": "carol"}},
    "ownership": {"default_team": "support"},
}


def settings(**file: Any) -> Settings:
    data = {"shops": [{"domain": SHOP}], **PEOPLE, **file}
    return Settings(database_url="memory", config_path=Path("opsdesk.yaml"), file=FileConfig.model_validate(data),
                    shopify_secret=None, shopify_previous_secret=None)


def playbook(name: str = "refunds", owner: str = "team:support") -> Playbook:
    return Playbook(name, owner, f"{name}-v1", ())


def measure(db: InMemoryDatabase, control: str, s: Settings | None = None,
            playbooks: tuple[Playbook, ...] = (playbook(),)) -> Result:
    s = s or settings()
    chosen = [c for c in registry.builtin_controls() if c.id == control]
    with db.unit_of_work(read_only=True) as uow:
        report = registry.check(s, uow, NOW, playbooks, build_org(s.file, NOW), chosen)
    return report.results[0]


def write(db: InMemoryDatabase, work: Any) -> None:
    with db.unit_of_work() as uow:
        work(uow)
        uow.commit()


def refund_case(case_id: str, opened: datetime, resolved: datetime | None = None) -> Any:
    def work(uow: Any) -> None:
        uow.cases.open(CaseRecord(case_id, SHOP, "refund", "refunds", f"refund {case_id}", "over cap", opened))
        if resolved is not None:
            case = uow.cases.get(case_id)
            new = replace(case, status=CaseStatus.RESOLVED, resolved_at=resolved, owner="alice")
            uow.cases.save(Changed(new, CaseChange(case_id, resolved, "alice", "resolve", {}, {}, "")), case.version)
    return work


def email(order_id: int, at: datetime, template: str = "delayed_fulfilment") -> OutboxAction:
    return OutboxAction(f"e{order_id}-{at:%H%M}", "d", SHOP, order_id, "email", "smtp", {"template": template},
                        "k", at, at)


def fulfilment(webhook: str, carrier: str, location: int | None) -> RawDelivery:
    body = orjson.dumps({"id": int(webhook), "order_id": 1, "status": "success", "tracking_company": carrier,
                         "location_id": location, "created_at": NOW.isoformat(), "updated_at": NOW.isoformat()})
    return RawDelivery(SHOP, webhook, "fulfillments/create", body, NOW - timedelta(days=1))
