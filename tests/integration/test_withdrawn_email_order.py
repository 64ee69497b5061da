"""An email withdrawn before it went (ADR 0068) is not a failure of its decision: the actions ordered after it go
(ADR 0042), no provider is called for it, no hook runs, no case opens, and it is counted once. The real outbox on
each backend (in memory, a SQLite file, PostgreSQL), a manual clock, the providers of ``test_outbox_sequence``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from opsdesk.domain.events import OrderId, ShopDomain
from opsdesk.domain.outbox import ActionStatus, SendResult
from opsdesk.domain.policies import ActionSpec, Decision, Outcome
from opsdesk.domain.records import OutboxAction
from opsdesk.ports import Database, UnitOfWork
from opsdesk.services.effects import actions_for
from opsdesk.services.resolutions import CaseResolved
from opsdesk.testing import ManualClock
from tests.integration._servers import START
from tests.integration.test_outbox_sequence import add, case_ids, drain, sender, stored
from tests.samples import SHOP

ORDER = 2001
WHY = "order #2001 has shipped"


def email_then_tag() -> list[OutboxAction]:
    """A shop's own rule: tell the customer the order is late, then tag it (the tag waits for the email)."""
    then = (ActionSpec("email", {"template": "delayed_fulfilment"}), ActionSpec("add_tags", {"tags": ["late"]}))
    decision = Decision("late", "v1", "tell-and-tag", Outcome.AUTOMATE, "late", then)
    event = CaseResolved(ShopDomain(SHOP), START, "case-late", OrderId(ORDER))
    facts = {"event": {"amount": Decimal(0)}, "order": {"email": "c@example.com", "name": "#2001"}}
    return actions_for("decision-late", decision, event, facts, START)


def test_a_withdrawn_email_releases_the_actions_after_it_and_opens_no_case(any_db: Database) -> None:
    email, tag = email_then_tag()
    add(any_db, [email, tag])
    clock, calls, hooked, told = ManualClock(START), list[tuple[str, str]](), list[str](), list[str]()

    def hook(uow: UnitOfWork, action: OutboxAction, result: SendResult, now: datetime) -> bool:
        hooked.append(action.kind)
        return False

    s = sender(any_db, clock, calls, lapses={"email": lambda uow, action: WHY}, on_outcome=told.append,
               outcome_hooks={"email": hook, "add_tags": hook})
    drain(s, clock)

    withdrawn, tagged = stored(any_db, email), stored(any_db, tag)
    assert calls == [("add_tags", tag.decision_id)]  # the email was never handed to SMTP
    assert (withdrawn.status, withdrawn.attempts, withdrawn.last_error) == (ActionStatus.WITHDRAWN, 0,
                                                                            f"not sent: {WHY}")
    assert [(h["outcome"], h["reason"]) for h in withdrawn.history] == [("withdrawn", WHY)]
    assert (tagged.status, hooked, told) == (ActionStatus.SENT, ["add_tags"], ["withdrawn", "sent"])
    assert (s.stats.withdrawn, s.stats.failed, s.stats.cancelled, case_ids(any_db, ORDER)) == (1, 0, 0, [])


def test_an_email_whose_reason_holds_goes_first_and_the_tag_after_it(any_db: Database) -> None:
    email, tag = email_then_tag()
    add(any_db, [email, tag])
    clock, calls = ManualClock(START), list[tuple[str, str]]()

    s = sender(any_db, clock, calls, lapses={"email": lambda uow, action: ""})
    drain(s, clock)

    assert calls == [("email", email.decision_id), ("add_tags", tag.decision_id)]
    assert [stored(any_db, a).status for a in (email, tag)] == [ActionStatus.SENT, ActionStatus.SENT]
    assert s.stats.withdrawn == 0
