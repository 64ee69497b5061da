"""An automation's failures go to the owner its playbook names."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdesk.domain.outbox import Rejected, SendResult
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.testing import RecordingConnector
from tests.integration.desk_harness import make_desk
from tests.pipeline_harness import feed
from tests.samples import order_lifecycle


class RefusingShopify:
    provider = "shopify"

    def send(self, action: OutboxAction) -> SendResult:
        return Rejected("Refund amount exceeds the refundable amount")


def test_a_refund_the_provider_rejects_becomes_a_case_owned_by_the_refunds_playbooks_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = RecordingConnector("smtp")
    desk = make_desk(tmp_path, monkeypatch, connectors={"shopify": RefusingShopify(), "smtp": smtp})
    feed(desk.db, order_lifecycle(1)[:6], desk.clock)  # type: ignore[arg-type]
    desk.process_pending()
    sender = desk.sender("test")
    while sender.run_once():
        pass
    with desk.db.unit_of_work() as uow:
        [case] = uow.cases.search(CaseFilter(kind="automation_failure"))
    assert case.owner == "team:support"  # `owner:` of src/opsdesk/starter/playbooks/refunds.yaml
    # The playbook's confirmation email is not sent for a refund that was not made (ADR 0042); the one case says so.
    assert (case.reason, smtp.sent) == (
        "rejected by shopify: Refund amount exceeds the refundable amount; "
        "not sent after it: email (refund_confirmation)",
        [],
    )
