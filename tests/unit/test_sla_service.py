"""SLA clocks on cases: what opening, waiting, responding, resolving and reopening do to clocks, due time and
timers. What the warning and breach timers do when the sweep fires them is in ``test_sla_timer_handlers``,
the dead-man timers in ``test_sla_deadman``."""

from __future__ import annotations

from opsdesk.domain import case_transitions as transitions
from tests.sla_harness import ny
from tests.unit.sla_desk import OPENED, START, UPDATE, breach, case, move, started, utc, warning

# --- the hooks --------------------------------------------------------------------------------------


def test_opening_starts_a_clock_per_target_due_at_the_first_deadline_with_a_timer_per_checkpoint() -> None:
    opened, timers = START(case(), OPENED)

    assert opened.detail["sla"] == {
        "policy": "standard",
        "clocks": {
            target: {
                "started_at": utc(OPENED), "pauses": [], "paused_since": None, "met_at": None,
                "hard_deadline": None, "deadline": utc(due),
            }
            for target, due in (("first_response", ny(2026, 11, 2, 12)), ("resolution", ny(2026, 11, 3, 10)))
        },
    }  # fmt: skip
    assert opened.due_at == ny(2026, 11, 2, 12)
    assert timers == [
        warning("first_response", 0.5, ny(2026, 11, 2, 11)),
        warning("first_response", 0.8, ny(2026, 11, 2, 11, 36)),
        breach("first_response", ny(2026, 11, 2, 12)),
        warning("resolution", 0.5, ny(2026, 11, 2, 14)),
        warning("resolution", 0.8, ny(2026, 11, 2, 16, 24)),
        breach("resolution", ny(2026, 11, 3, 10)),
    ]


def test_a_case_in_a_queue_without_a_policy_gets_no_clocks_and_no_timers() -> None:
    plain = case(queue="misc")
    assert START(plain, OPENED) == (plain, [])
    assert UPDATE(plain, move(plain, lambda c: transitions.wait(c, "customer", "ann", OPENED)), OPENED)[
        1:
    ] == (
        [],
        [],
    )


def test_waiting_pauses_every_clock_and_resuming_moves_deadlines_by_the_open_time_paused() -> None:
    opened = started()
    waiting = move(opened, lambda c: transitions.wait(c, "customer", "ann", ny(2026, 11, 2, 11)))
    paused, paused_timers, paused_cancel = UPDATE(opened, waiting, ny(2026, 11, 2, 11))
    working = move(paused, lambda c: transitions.resume(c, "ann", ny(2026, 11, 2, 15)))
    resumed, timers, cancel = UPDATE(paused, working, ny(2026, 11, 2, 15))

    assert [c["paused_since"] for c in paused.detail["sla"]["clocks"].values()] == [
        utc(ny(2026, 11, 2, 11))
    ] * 2
    # Nothing is due while every clock stands still; the pending timers stay and fire as no-ops.
    assert (paused.due_at, paused_timers, paused_cancel) == (None, [], [])
    # Four open hours paused: 12:00 becomes 16:00, and Tuesday 10:00 becomes Tuesday 14:00.
    assert resumed.due_at == ny(2026, 11, 2, 16)
    assert (timers, cancel) == (
        [
            warning("first_response", 0.8, ny(2026, 11, 2, 15, 36)),
            breach("first_response", ny(2026, 11, 2, 16)),
            warning("resolution", 0.5, ny(2026, 11, 3, 10)),
            warning("resolution", 0.8, ny(2026, 11, 3, 12, 24)),
            breach("resolution", ny(2026, 11, 3, 14)),
        ],
        [],
    )


def test_a_pause_wholly_in_closed_hours_moves_nothing() -> None:
    evening = ny(2026, 11, 2, 16)
    opened, first = START(case(evening), evening)
    waiting = move(opened, lambda c: transitions.wait(c, "supplier", "ann", ny(2026, 11, 2, 17, 30)))
    paused = UPDATE(opened, waiting, ny(2026, 11, 2, 17, 30))[0]
    working = move(paused, lambda c: transitions.resume(c, "ann", ny(2026, 11, 3, 8, 30)))
    resumed, timers, _ = UPDATE(paused, working, ny(2026, 11, 3, 8, 30))

    assert resumed.due_at == opened.due_at == ny(2026, 11, 3, 10)
    assert timers == [t for t in first if t.due_at > ny(2026, 11, 3, 8, 30)]


def test_the_first_response_meets_only_its_own_target() -> None:
    opened = started()
    answered = move(opened, lambda c: transitions.respond(c, "ann", ny(2026, 11, 2, 11, 30), "On it"))
    after, timers, cancel = UPDATE(opened, answered, ny(2026, 11, 2, 11, 30))

    clocks = after.detail["sla"]["clocks"]
    assert (clocks["first_response"]["met_at"], clocks["resolution"]["met_at"]) == (
        utc(ny(2026, 11, 2, 11, 30)),
        None,
    )
    assert after.due_at == ny(2026, 11, 3, 10)
    assert (timers, cancel) == (
        [
            warning("resolution", 0.5, ny(2026, 11, 2, 14)),
            warning("resolution", 0.8, ny(2026, 11, 2, 16, 24)),
            breach("resolution", ny(2026, 11, 3, 10)),
        ],
        [],
    )


def test_resolving_meets_every_clock_and_closing_cancels_the_sla_timers() -> None:
    opened = started()
    at = ny(2026, 11, 2, 12, 30)
    resolved, timers, cancel = UPDATE(
        opened, move(opened, lambda c: transitions.resolve(c, "deny", "ann", at)), at
    )
    closed = UPDATE(resolved, move(resolved, lambda c: transitions.close(c, "ann", at)), at)

    assert [c["met_at"] for c in resolved.detail["sla"]["clocks"].values()] == [utc(at)] * 2
    assert (resolved.due_at, timers, cancel) == (None, [], [])
    assert closed[1:] == ([], ["sla_warning", "sla_breach"])


def test_reopening_starts_a_fresh_resolution_clock_and_keeps_the_first_response_met() -> None:
    opened = started()
    resolved_at, reopened_at = ny(2026, 11, 3, 9, 30), ny(2026, 11, 4, 10)
    resolved = UPDATE(
        opened, move(opened, lambda c: transitions.resolve(c, "deny", "ann", resolved_at)), resolved_at
    )[0]
    back = move(resolved, lambda c: transitions.reopen(c, "ann", reopened_at))
    reopened, timers, _ = UPDATE(resolved, back, reopened_at)

    clocks = reopened.detail["sla"]["clocks"]
    assert clocks["first_response"]["met_at"] == utc(resolved_at)
    assert (clocks["resolution"]["started_at"], clocks["resolution"]["met_at"]) == (utc(reopened_at), None)
    assert reopened.due_at == ny(2026, 11, 5, 10)
    assert timers == [
        warning("resolution", 0.5, ny(2026, 11, 4, 14)),
        warning("resolution", 0.8, ny(2026, 11, 4, 16, 24)),
        breach("resolution", ny(2026, 11, 5, 10)),
    ]


def test_a_hard_deadline_caps_the_targets_and_keeps_running_through_a_pause() -> None:
    hard = ny(2026, 11, 2, 13)
    opened, timers = START(case(hard_deadline=hard.isoformat()), OPENED)
    waiting = move(opened, lambda c: transitions.wait(c, "customer", "ann", ny(2026, 11, 2, 11)))
    paused, paused_timers, _ = UPDATE(opened, waiting, ny(2026, 11, 2, 11))

    # Resolution's warnings are fractions of the three open hours left before the hard deadline.
    assert timers[3:] == [
        warning("resolution", 0.5, ny(2026, 11, 2, 11, 30)),
        warning("resolution", 0.8, ny(2026, 11, 2, 12, 24)),
        breach("resolution", hard),
    ]
    assert paused.due_at == hard
    assert paused_timers == [breach("first_response", hard), breach("resolution", hard)]
