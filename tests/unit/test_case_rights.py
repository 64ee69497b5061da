"""Who may do what to a case someone else holds (ADR 0039): the one rule the page, the API and the CLI share."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.case_rights import AUTOMATION, may, refusal
from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.errors import Conflict, Refused
from opsdesk.services.cases import ACTIONS
from opsdesk.services.dashboard_case import case_actions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICES = Case(
    id="c1",
    shop="s.myshopify.com",
    kind="refund",
    queue="refunds",
    title="t",
    reason="over cap",
    opened_at=T0,
    order_id=42,
    owner="alice",
    status=CaseStatus.ASSIGNED,
    number=7,
)


def test_a_colleague_may_comment_and_reopen_a_lead_may_also_reassign_and_nobody_else_works_it() -> None:
    allowed = {lead: [a for a in ACTIONS if may(ALICES, a, "bob", lead=lead)] for lead in (False, True)}
    # claim is the claim's own refusal (case_transitions.claim): the rule leaves it to the transition, which
    # names alice too
    assert allowed == {False: ["claim", "comment", "reopen"], True: ["claim", "assign", "comment", "reopen"]}


def test_the_refusal_is_a_conflict_naming_the_holder_and_saying_who_may() -> None:
    refused = refusal(ALICES, "resolve", "bob")
    assert isinstance(refused, Refused) and isinstance(refused, Conflict)  # 409 in the API, as a lost claim
    assert (str(refused), refused.holder) == (
        "case C-7 is held by alice: only alice can resolve it; a lead can reassign it",
        "alice",
    )
    assert str(refusal(ALICES, "assign", "bob")) == "case C-7 is held by alice: only a lead can reassign it"


@given(
    status=st.sampled_from(CaseStatus),
    owner=st.sampled_from([None, "team:support", "alice", "bob"]),
    actor=st.sampled_from(["alice", "bob", AUTOMATION]),
    action=st.sampled_from(ACTIONS),
    lead=st.booleans(),
)
def test_the_holder_nobodys_case_and_automation_are_never_refused(
    status: CaseStatus, owner: str | None, actor: str, action: str, lead: bool
) -> None:
    case = replace(ALICES, status=status, owner=owner)
    refused = refusal(case, action, actor, lead=lead) is not None
    assert refused == (
        owner not in (None, "team:support", actor)
        and actor != AUTOMATION
        and action not in {"claim", "comment", "reopen"}
        and not (lead and action == "assign")
    )


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("owner", [None, "team:support", "alice"])
@pytest.mark.parametrize("person", ["alice", "bob"])
def test_the_page_offers_only_what_the_server_allows(
    status: CaseStatus, owner: str | None, person: str
) -> None:
    case = replace(ALICES, status=status, owner=owner)
    offered = case_actions(case, person)
    assert all(may(case, action, person) for action in offered)
    if owner == "alice" and person == "bob":
        assert offered == ([] if status.active else ["reopen"])
