"""Reliability test 3 at its quick size: 50 signed deliveries/s for 60 s into `opsdesk serve` with the worker on.

The full size (10 minutes) is the same code: `benchmarks/r3_sustained_intake.py`; its runs are in
docs/benchmarks.md. Real server process, real SQLite file at synchronous=FULL, real HTTP.
"""

from __future__ import annotations

from benchmarks.r3_sustained_intake import P99_LIMIT_MS, parse_args, run


def test_sixty_seconds_at_fifty_a_second_lose_nothing_and_answer_in_time() -> None:
    result = run(parse_args(["--seconds", "60"]))

    assert result["sent"] >= 3_000 and result["transport_errors"] == 0
    assert result["statuses"] == {"200": result["sent"]}
    assert result["acknowledged_distinct"] == result["distinct"]
    assert result["lost"] == 0  # every acknowledged delivery is in the database
    assert result["processed_by_the_worker"] == result["distinct"]  # and the pipeline kept up with them
    assert result["p99_ms"] <= P99_LIMIT_MS
