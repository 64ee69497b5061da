"""A return's status in the order projection whatever the delivery order, and a request that arrives after its
return was over: superseded, and decided by no rule of any playbook listening to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.events import OrderId, ReturnChange, ReturnChanged, ReturnLine, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState, Versioned, apply, superseded
from opsdesk.domain.policies import Decision, Outcome, Playbook, Rule, decide
from opsdesk.services.facts import facts_for

SHOP, ORDER, RETURN = ShopDomain("alpha.myshopify.com"), OrderId(450_789_469), 4_000_001
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUS = {ReturnChange.REQUESTED: "requested", ReturnChange.APPROVED: "open", ReturnChange.DECLINED: "declined",
          ReturnChange.CLOSED: "closed", ReturnChange.CANCELLED: "canceled"}


def change(kind: ReturnChange, minutes: int) -> ReturnChanged:
    lines = (ReturnLine(1, 1, "UNWANTED", "", None),) if kind is ReturnChange.REQUESTED else ()
    return ReturnChanged(SHOP, AT + timedelta(minutes=minutes), kind, RETURN, ORDER, STATUS[kind], lines)


def fold(events: Sequence[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


# The request retried after the decline keeps its trigger time (0); a sweep's, or a skewed clock's, may be later.
DECLINED: list[StoreEvent] = [change(ReturnChange.REQUESTED, 0), change(ReturnChange.DECLINED, 30),
                              change(ReturnChange.REQUESTED, 45)]
CLOSED: list[StoreEvent] = [change(ReturnChange.REQUESTED, 0), change(ReturnChange.APPROVED, 10),
                            change(ReturnChange.CLOSED, 40), change(ReturnChange.REQUESTED, 90)]


@given(st.permutations(DECLINED), st.permutations(CLOSED))
def test_a_returns_status_is_the_latest_change_after_its_request_whatever_the_delivery_order(
    declined: list[StoreEvent], closed: list[StoreEvent]
) -> None:
    assert fold(declined).returns == {RETURN: Versioned("declined", AT + timedelta(minutes=30))}
    assert fold(closed).returns == {RETURN: Versioned("closed", AT + timedelta(minutes=40))}


@given(st.permutations(DECLINED))
def test_a_request_folded_after_its_decline_is_superseded_in_any_delivery_order(events: list[StoreEvent]) -> None:
    state = fold(events)
    request = change(ReturnChange.REQUESTED, 0)
    assert superseded(request, apply(state, request).state) == (
        f"return {RETURN} is declined already: its request, delivered late, is not a new one")


def test_a_request_is_news_while_its_return_is_unknown_requested_or_open() -> None:
    request = change(ReturnChange.REQUESTED, 0)
    for before in ([], [change(ReturnChange.REQUESTED, 0)], [change(ReturnChange.APPROVED, 5)]):
        assert superseded(request, apply(fold(before), request).state) == ""
    for over in (ReturnChange.DECLINED, ReturnChange.CANCELLED, ReturnChange.CLOSED):
        assert superseded(request, apply(fold([change(over, 5)]), request).state) != ""
    assert superseded(change(ReturnChange.DECLINED, 5), fold(DECLINED)) == ""  # only requests are superseded


def test_every_listening_playbook_records_a_superseded_request_as_ignored_and_no_rule_runs() -> None:
    refund = Rule("refund", frozenset({"return.requested"}), None, "", escalation=None)
    playbook = Playbook("refunds", "team:support", "v1", (refund,), listens=frozenset({"return.requested"}))
    state = fold(DECLINED)
    facts = facts_for(change(ReturnChange.REQUESTED, 0), state)
    assert (facts["event"]["return_status"], facts["event"]["status"]) == ("declined", "requested")

    decision = decide(playbook, "return.requested", facts, {}, AT)

    reason = f"return {RETURN} is declined already: its request, delivered late, is not a new one"
    assert decision == Decision("refunds", "v1", "superseded", Outcome.IGNORE, reason, owner="team:support")
    assert decide(playbook, "return.declined", facts, {}, AT) is None
    fresh = facts_for(change(ReturnChange.REQUESTED, 0), OrderState(SHOP, ORDER))
    assert decide(playbook, "return.requested", fresh, {}, AT) == Decision(
        "refunds", "v1", "refund", Outcome.IGNORE, "rule refund ignores: always", owner="team:support")
