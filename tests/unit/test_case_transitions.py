"""The case's pure transitions: what each move does, what it refuses, and what it records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain import case_transitions as tr
from opsdesk.domain.cases import MAX_SIGNALS, Case, CaseChange, CaseStatus, Changed
from opsdesk.domain.errors import Conflict, InvalidInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def case(**changes: object) -> Case:
    base = Case(id="c1", shop="s.myshopify.com", kind="refund", queue="refunds", title="t", reason="over cap",
                opened_at=T0, order_id=42)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_claiming_an_unowned_case_makes_the_person_its_owner_and_records_the_change() -> None:
    assert tr.claim(case(), "ada", T1) == Changed(
        case(owner="ada", status=CaseStatus.ASSIGNED, version=2, updated_at=T1),
        CaseChange("c1", T1, "ada", "claimed", {"owner": None, "status": "open"},
                   {"owner": "ada", "status": "assigned"}),
    )


def test_a_team_owned_case_can_be_claimed_by_a_person() -> None:
    claimed = tr.claim(case(owner="team:support"), "ada", T1).case
    assert (claimed.owner, claimed.status) == ("ada", CaseStatus.ASSIGNED)


def test_claiming_someone_elses_case_is_a_conflict_naming_them() -> None:
    with pytest.raises(Conflict, match="already claimed by bob") as caught:
        tr.claim(case(owner="bob", status=CaseStatus.ASSIGNED), "ada", T1)
    assert caught.value.holder == "bob"


def test_claiming_a_waiting_case_keeps_it_waiting() -> None:
    claimed = tr.claim(case(owner="team:support", status=CaseStatus.WAITING_CUSTOMER), "ada", T1).case
    assert claimed.status is CaseStatus.WAITING_CUSTOMER


@pytest.mark.parametrize("status", [CaseStatus.RESOLVED, CaseStatus.CLOSED])
def test_a_case_done_cannot_be_claimed(status: CaseStatus) -> None:
    with pytest.raises(InvalidInput, match=f"cannot claim case c1: it is {status.value}"):
        tr.claim(case(status=status), "ada", T1)


def test_a_refused_transition_names_the_case_by_its_key_as_every_other_message_does() -> None:
    """ADR 0029: ``C-12`` is what a person and ``cases list`` know it by, not ``action-<32 hex digits>``."""
    waiting = case(id="action-2ad8a6447ec5415e916e6a47e5e3aebd", number=12, status=CaseStatus.WAITING_CUSTOMER)
    with pytest.raises(InvalidInput) as refused:
        tr.close(waiting, "ada", T1)
    assert str(refused.value) == "cannot close case C-12: it is waiting_customer"


def test_a_case_in_progress_handed_back_to_its_team_is_claimed_again_and_stays_in_progress() -> None:
    handed_back = case(owner="team:support", status=CaseStatus.IN_PROGRESS, version=5)
    assert tr.claim(handed_back, "ada", T1) == Changed(
        replace(handed_back, owner="ada", version=6, updated_at=T1),
        CaseChange("c1", T1, "ada", "claimed", {"owner": "team:support", "status": "in_progress"},
                   {"owner": "ada", "status": "in_progress"}),
    )
    with pytest.raises(Conflict, match="already claimed by bob"):  # someone at work on it keeps it
        tr.claim(case(owner="bob", status=CaseStatus.IN_PROGRESS), "ada", T1)


def test_assigning_to_a_team_leaves_the_case_open_and_to_a_person_assigns_it() -> None:
    assert tr.assign(case(), "team:risk", "lead", T1).case.status is CaseStatus.OPEN
    assigned = tr.assign(case(), "bob", "lead", T1, "bob knows this customer")
    assert (assigned.case.owner, assigned.case.status) == ("bob", CaseStatus.ASSIGNED)
    assert (assigned.change.actor, assigned.change.note) == ("lead", "bob knows this customer")


def test_starting_a_case_makes_the_starter_owner_unless_a_person_owns_it() -> None:
    assert tr.start(case(owner="team:support"), "ada", T1).case.owner == "ada"
    assert tr.start(case(owner="bob", status=CaseStatus.ASSIGNED), "ada", T1).case.owner == "bob"
    assert tr.start(case(), "ada", T1).case.status is CaseStatus.IN_PROGRESS


def test_waiting_is_on_the_customer_or_a_supplier_and_resuming_returns_to_work() -> None:
    waiting = tr.wait(case(status=CaseStatus.IN_PROGRESS), "supplier", "ada", T1, "asked the carrier").case
    assert waiting.status is CaseStatus.WAITING_SUPPLIER
    assert tr.resume(waiting, "ada", T1).case.status is CaseStatus.IN_PROGRESS
    with pytest.raises(InvalidInput, match="'customer' or 'supplier', not 'moon'"):
        tr.wait(case(), "moon", "ada", T1)
    with pytest.raises(InvalidInput, match="cannot resume"):
        tr.resume(case(), "ada", T1)


def test_the_first_comment_by_a_person_is_the_first_response_and_later_ones_keep_it() -> None:
    assert tr.respond(case(), "automation", T0, "auto reply").case.first_response_at is None
    first = tr.respond(case(), "ada", T1, "on it").case
    assert first.first_response_at == T1
    assert tr.respond(first, "ada", T1 + timedelta(hours=1), "still on it").case.first_response_at == T1
    with pytest.raises(InvalidInput, match="a comment needs text"):
        tr.respond(case(), "ada", T1, "   ")


def test_resolving_records_the_resolution_and_counts_as_a_response() -> None:
    resolved = tr.resolve(case(owner="ada"), "approve_refund", "ada", T1, "customer sent photos").case
    assert (resolved.status, resolved.resolution, resolved.resolved_at) == (
        CaseStatus.RESOLVED, "approve_refund", T1)
    assert resolved.first_response_at == T1
    with pytest.raises(InvalidInput, match="unknown resolution 'refund_twice'"):
        tr.resolve(case(), "refund_twice", "ada", T1)
    with pytest.raises(InvalidInput, match="cannot resolve case c1: it is resolved"):
        tr.resolve(resolved, "deny", "ada", T1)


def test_only_a_resolved_case_closes_and_a_done_case_reopens_to_its_owner() -> None:
    resolved = tr.resolve(case(owner="ada", status=CaseStatus.ASSIGNED), "deny", "ada", T1).case
    with pytest.raises(InvalidInput, match="cannot close"):
        tr.close(case(), "ada", T1)
    closed = tr.close(resolved, "ada", T1).case
    reopened = tr.reopen(closed, "ada", T1, "customer wrote again").case
    assert (reopened.status, reopened.resolution, reopened.resolved_at) == (CaseStatus.ASSIGNED, None, None)
    assert tr.reopen(replace(closed, owner="team:support"), "ada", T1).case.status is CaseStatus.OPEN
    with pytest.raises(InvalidInput, match="cannot reopen"):
        tr.reopen(case(), "ada", T1)


def test_escalation_raises_the_level_hands_the_case_up_and_never_lowers_it() -> None:
    up = tr.escalate(case(owner="ada"), 1, "team-lead", T1, "breached first response")
    assert (up.case.escalation_level, up.case.owner, up.change.actor) == (1, "team-lead", "automation")
    assert tr.escalate(up.case, 2, None, T1, "again").case.owner == "team-lead"
    with pytest.raises(InvalidInput, match="already at escalation level 1"):
        tr.escalate(up.case, 1, "manager", T1, "")


def test_a_new_case_opens_with_its_first_owner_and_a_timeline_entry() -> None:
    assert tr.opened(case(), "team:support", T0) == Changed(
        case(owner="team:support", version=2, updated_at=T0),
        CaseChange("c1", T0, "automation", "opened", {}, {"owner": "team:support", "status": "open"}),
    )
    assert tr.opened(case(), "ada", T0).case.status is CaseStatus.ASSIGNED


def test_repeated_signals_add_to_the_case_keeping_the_newest() -> None:
    current = case(detail={"playbook": "refunds"})
    for n in range(MAX_SIGNALS + 2):
        current = tr.joined(current, f"decision:d{n}", f"again {n}", T1).case
    signals = current.detail["signals"]
    assert len(signals) == MAX_SIGNALS
    assert signals[-1] == {"source": f"decision:d{MAX_SIGNALS + 1}", "reason": f"again {MAX_SIGNALS + 1}",
                           "at": T1.isoformat()}
    assert current.detail["playbook"] == "refunds"
    assert current.version == 1 + MAX_SIGNALS + 2


MOVES: dict[str, Callable[[Case, str, datetime], Changed]] = {
    "claim": tr.claim,
    "assign": lambda c, who, at: tr.assign(c, "team:support", who, at),
    "start": tr.start,
    "wait": lambda c, who, at: tr.wait(c, "customer", who, at),
    "resume": tr.resume,
    "comment": lambda c, who, at: tr.respond(c, who, at, "note"),
    "resolve": lambda c, who, at: tr.resolve(c, "no_action", who, at),
    "close": tr.close,
    "reopen": tr.reopen,
    "escalate": lambda c, who, at: tr.escalate(c, c.escalation_level + 1, None, at, "late"),
}


@given(st.lists(st.tuples(st.sampled_from(sorted(MOVES)), st.sampled_from(["ada", "bob"])), max_size=30))
def test_every_move_either_refuses_or_bumps_the_version_by_one_and_records_what_changed(
    moves: list[tuple[str, str]],
) -> None:
    current = case()
    for n, (name, who) in enumerate(moves):
        at = T0 + timedelta(minutes=n)
        try:
            changed = MOVES[name](current, who, at)
        except (InvalidInput, Conflict):
            continue
        new, change = changed.case, changed.change
        assert new.version == current.version + 1
        assert new.escalation_level >= current.escalation_level
        assert (change.case_id, change.at, new.updated_at) == ("c1", at, at)
        assert {k: _plain(getattr(current, k)) for k in change.before} == change.before
        assert {k: _plain(getattr(new, k)) for k in change.after} == change.after
        assert (new.resolved_at is not None) == (new.status in {CaseStatus.RESOLVED, CaseStatus.CLOSED})
        current = new


def _plain(value: object) -> object:
    if isinstance(value, CaseStatus):
        return value.value
    return value.isoformat() if isinstance(value, datetime) else value
