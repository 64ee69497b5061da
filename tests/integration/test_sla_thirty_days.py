"""Reliability test 10 at quick size: SLA timers over 30 simulated days, the sweeper killed 10 times.

About 100 cases open over 30 days in New York on a 09:00-17:00 weekday calendar with a lunch break and
US holidays, across the clock change of 2026-11-01 and Thanksgiving (2026-11-26). Some wait on the
customer for a while, some are answered, some resolved, the rest breach and climb the ladder. A manual
clock moves in 5-minute steps (the poll interval) with a sweep each step, on a real SQLite file; ten
times a sweep is killed mid-batch with its leases held, and a new sweeper takes over, its first sweep
one lease later (when the abandoned timers become claimable). Every breach must fire exactly once per
(case, target), none before its deadline as computed here from the test's own log of the case, and
none later than one poll interval plus the lease. The full size (1,000 cases) is in benchmarks/p4_timers.py.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from opsdesk.domain.calendar import business_time_between
from opsdesk.domain.sla import deadline
from tests.integration.sla_simulation import CALENDAR, CASES, END, KILLS, LEASE, STEP, Plan, Simulation, plans
from tests.sla_harness import ny


def expected_deadline(plan: Plan, target: str) -> datetime | None:
    """The deadline from the test's own log, checked against the open time it leaves."""
    policy, clock = plan.policy, plan.clock()
    due = deadline(policy, target, clock)
    if due is not None:
        paused = sum((business_time_between(CALENDAR, s, min(e, due)) for s, e in clock.pauses), timedelta(0))
        assert business_time_between(CALENDAR, plan.opened, due) - paused == policy.targets[target]
    return due


def test_every_breach_fires_once_never_early_and_within_a_poll_and_a_lease(tmp_path: Path) -> None:
    print("\n" + check_thirty_days(tmp_path))


def check_thirty_days(directory: Path, cases: int = CASES, seed: int = 20261101) -> str:
    """Run the simulation and check it (benchmarks/p4_timers.py runs it at full size); returns a summary."""
    found = plans(random.Random(seed), cases)
    sim = Simulation(directory, found)
    sim.run()
    try:
        expected, late, tolerated = check_breaches(sim, found)
        warnings = Counter(
            (case_id, a["target"], a["fraction"]) for case_id, _, a in sim.audit("sla.warning")
        )
        assert set(warnings.values()) == {1}
        escalated = check_ladder(sim, found)
    finally:
        sim.db.dispose()
    assert sim.kills == KILLS
    late.sort()
    return (
        f"{len(late)} breaches ({len(expected)} certain, {tolerated} resolved within the sweep's lag), "
        f"{sum(warnings.values())} warnings, {escalated} cases escalated, {sim.kills} sweepers killed; "
        f"lateness p50 {late[len(late) // 2]}, p99 {late[int(len(late) * 0.99)]}, max {late[-1]}"
    )


def check_breaches(sim: Simulation, found: list[Plan]) -> tuple[set[tuple[str, str]], list[timedelta], int]:
    """Each breach once, none early, none later than a poll and a lease; returns what was expected."""
    fired = sim.audit("sla.breached")
    breaches = Counter((case_id, after["target"]) for case_id, _, after in fired)
    fired_at = {(case_id, after["target"]): at for case_id, at, after in fired}
    expected, late, tolerated = set(), [], 0
    for plan in found:
        for target in plan.policy.targets:
            key, due, met = (plan.id, target), expected_deadline(plan, target), plan.met(target)
            resolved = plan.first("resolve")
            if due is None or (met is not None and met < due) or due > END:
                assert breaches[key] == 0, key
            elif resolved is not None and resolved - due <= STEP + LEASE:
                # Resolved before the sweep came round: the case service cancels a resolved case's timers.
                tolerated += 1
            elif due <= END - STEP - LEASE:
                expected.add(key)
            if key in fired_at:
                assert due is not None and due <= fired_at[key] <= due + STEP + LEASE, (
                    key,
                    due,
                    fired_at[key],
                )
                late.append(fired_at[key] - due)
    assert set(breaches.values()) == {1}
    assert expected <= set(breaches) and len(expected) > len(found) / 2
    # The pinned cases: the clock change and Thanksgiving (with the lunch break) are where they should be.
    pinned = {plan.id: plan for plan in found[:2]}
    assert expected_deadline(pinned["dst"], "first_response") == ny(2026, 11, 2, 10)  # 15:00 UTC, not 14:00
    assert expected_deadline(pinned["thanksgiving"], "resolution") == ny(2026, 11, 27, 14, 30)
    assert {("dst", "first_response"), ("thanksgiving", "resolution")} <= expected
    return expected, late, tolerated


def check_ladder(sim: Simulation, found: list[Plan]) -> int:
    """Levels only rise, and end where the clocks say; returns how many cases were escalated."""
    escalations = sim.escalations()
    assert all(levels == sorted(set(levels)) for levels in escalations.values())
    levels = sim.levels()
    for plan in found:
        resolved = plan.first("resolve")
        if resolved is None:
            assert plan.level(END - STEP - LEASE) <= levels[plan.id] <= plan.level(END), plan.id
        else:
            assert levels[plan.id] <= plan.level(resolved), plan.id
    return len(escalations)
