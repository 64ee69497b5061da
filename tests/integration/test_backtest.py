"""Policy backtest: recorded decisions decided again by candidate rules, on every backend, with no effects."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from opsdesk.policy import loader
from opsdesk.ports import Database
from opsdesk.services.backtest import backtest
from opsdesk.testing import ManualClock
from tests.pipeline_harness import drain, feed
from tests.samples import declined_lifecycle, order_lifecycle

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PRICES = ["19.99", "79.99", "45.00", "99.00", "120.00"]


def refunds(folder: Path, cap: int, shop_per_day: int = 5000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "refunds.yaml").write_text(f"""
playbook: refunds
owner: team:support
escalate: {{queue: refunds}}
rules:
  - id: auto-refund
    when: [return.requested]
    if: event.simple_purchase_error && event.amount != null && event.amount <= {cap}.0
    guardrails:
      - {{per: action, max_amount: {cap}}}
      - {{per: shop, period: 1d, max_amount: {shop_per_day}}}
    then: [{{type: refund}}]
    escalate: {{queue: refunds}}
  - id: needs-a-person
    when: [return.requested]
    escalate: {{queue: refunds}}
""")
    return folder


def recorded(db: Database, tmp_path: Path, batches: list[list[str]], start: datetime = T0) -> None:
    """Each batch's returns decided live, with a cap of 50, at its own hour."""
    live = loader.load([refunds(tmp_path / "live", 50)])
    clock = ManualClock(start)
    n = 0
    for prices in batches:
        deliveries = []
        for price in prices:
            n += 1
            deliveries += order_lifecycle(n, base=start, price=price)[:6]  # up to the return request
        feed(db, deliveries, clock)
        drain(db, clock, live)
        clock.advance(hours=1)


def run(db: Database, candidate: Path, since: datetime = EPOCH, page: int = 2):  # type: ignore[no-untyped-def]
    with db.unit_of_work(read_only=True) as uow:
        return backtest(uow, loader.load([candidate]), since, page=page)


def test_raising_the_cap_reports_exactly_the_decisions_and_money_that_change(
    any_db: Database, tmp_path: Path
) -> None:
    recorded(any_db, tmp_path, [PRICES])
    with any_db.unit_of_work(read_only=True) as uow:
        counts = (
            uow.outbox.count(),
            uow.audit.count(),
            uow.deliveries.count(),
            uow.decisions.count_between(EPOCH, None),
        )
    report = run(any_db, refunds(tmp_path / "raised", 100))
    data = report.as_dict()
    assert [
        (c.order_id, c.before.outcome, c.before.rule, c.after.outcome, c.after.rule, c.amount)
        for c in report.changes
    ] == [
        (
            5_000_000_000_000_000_002,
            "escalate",
            "needs-a-person",
            "automate",
            "auto-refund",
            Decimal("79.99"),
        ),
        (
            5_000_000_000_000_000_004,
            "escalate",
            "needs-a-person",
            "automate",
            "auto-refund",
            Decimal("99.00"),
        ),
    ]
    assert data["changed"] == 2
    assert data["decisions"] == {
        "before": {"automate": 2, "escalate": 3},
        "after": {"automate": 4, "escalate": 1},
    }
    assert data["automation_rate"] == {"before": 0.4, "after": 0.8}
    assert data["money"] == {
        "automated_before": {"USD": "64.99"},
        "automated_after": {"USD": "243.98"},
        "newly_automated": {"USD": "178.99"},
    }
    with any_db.unit_of_work(read_only=True) as uow:  # no side effects
        assert counts == (
            uow.outbox.count(),
            uow.audit.count(),
            uow.deliveries.count(),
            uow.decisions.count_between(EPOCH, None),
        )
    assert run(any_db, tmp_path / "live").changed == 0  # the live rules decide as recorded


def test_guardrail_usage_is_simulated_in_memory_in_decision_order(any_db: Database, tmp_path: Path) -> None:
    recorded(any_db, tmp_path, [PRICES])
    report = run(any_db, refunds(tmp_path / "capped", 100, shop_per_day=150))
    # 19.99 + 79.99 + 45.00 = 144.98 automated; 99.00 would take the shop past 150 that day.
    assert [(c.order_id % 100, c.after.outcome, c.after.reason) for c in report.changes] == [
        (
            2,
            "automate",
            "rule auto-refund matched: event.simple_purchase_error && event.amount != null "
            "&& event.amount <= 100.0",
        ),
        (4, "escalate", "guardrail: amount 243.98 would exceed 150 (shop per 1 day, 0:00:00)"),
    ]
    assert report.as_dict()["money"]["newly_automated"] == {"USD": "79.99"}


def test_since_reports_later_decisions_but_counts_usage_from_one_period_before(
    any_db: Database, tmp_path: Path
) -> None:
    recorded(any_db, tmp_path, [["79.99"], ["79.99"]])  # decided at T0 and T0 + 1 h
    candidate = refunds(tmp_path / "capped", 100, shop_per_day=150)
    report = run(any_db, candidate, since=T0 + timedelta(minutes=30))
    assert report.events == 6  # the second order's six events; the first order's only warm the counters up
    assert [(c.order_id % 100, c.after.outcome) for c in report.changes] == [(2, "escalate")]
    assert [(c.order_id % 100, c.after.outcome) for c in run(any_db, candidate).changes] == [
        (1, "automate"),
        (2, "escalate"),
    ]


def test_a_request_delivered_after_its_decline_replays_as_superseded_whatever_the_candidate_allows(
    any_db: Database, tmp_path: Path
) -> None:
    # Order 1's return was declined before its request was delivered: recorded as superseded, with the facts that
    # say so; a cap raised to 100 would refund its 79.99 were it news, and must not. Order 2's request is news.
    live, clock = loader.load([refunds(tmp_path / "live", 50)]), ManualClock(T0)
    feed(any_db, declined_lifecycle(1, base=T0, price="79.99") + order_lifecycle(2, base=T0)[:6], clock)
    drain(any_db, clock, live)

    report = run(any_db, refunds(tmp_path / "raised", 100))

    assert (report.changed, report.changes) == (0, [])
    assert report.before == report.after == {"automate": 1, "ignore": 1}


def test_the_command_prints_the_report_and_json(tmp_path: Path) -> None:
    from tests.integration.test_cli import init, opsdesk

    init(tmp_path)
    lines = [json.dumps(d) for n, price in enumerate(PRICES, 1) for d in order_lifecycle(n, price=price)[:6]]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    assert opsdesk("ingest", "d.jsonl", cwd=tmp_path).returncode == 0
    candidate = tmp_path / "candidate"
    shutil.copytree(tmp_path / "playbooks", candidate)  # the whole rule set, with one change
    live = (tmp_path / "playbooks" / "refunds.yaml").read_text()
    assert "event.amount <= 50.0" in live and "{per: action, max_amount: 50}" in live
    (candidate / "refunds.yaml").write_text(
        live.replace("event.amount <= 50.0", "event.amount <= 100.0").replace(
            "{per: action, max_amount: 50}", "{per: action, max_amount: 100}"
        )
    )
    result = opsdesk("policy", "backtest", "--playbooks", "candidate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 decisions would change, 2 of them their outcome:" in result.stdout
    assert (
        "refunds: escalate (refund-request-needs-a-person) -> automate (auto-refund-simple-purchase-error)"
        "  USD 79.99"
    ) in result.stdout
    data = json.loads(
        opsdesk("policy", "backtest", "--playbooks", "candidate", "--format", "json", cwd=tmp_path).stdout
    )
    assert (data["changed"], data["money"]["newly_automated"]) == (2, {"USD": "178.99"})
    bad = opsdesk("policy", "backtest", "--playbooks", "missing", cwd=tmp_path)
    assert bad.returncode == 2 and "no such file or folder: missing" in bad.stderr


#: A playbook on an event the live rule set does not listen to (its facts were never recorded).
PAID_ORDERS = """
playbook: paid-orders
owner: team:support
escalate: {queue: risk}
rules:
  - id: vip-paid
    when: [order.paid]
    if: order.known && "vip" in order.tags
    escalate: {queue: risk}
"""


def test_a_new_playbook_on_events_nobody_listened_to_is_decided_on_rebuilt_facts(
    any_db: Database, tmp_path: Path
) -> None:
    recorded(any_db, tmp_path, [PRICES])
    candidate = refunds(tmp_path / "candidate", 50)
    (candidate / "paid.yaml").write_text(PAID_ORDERS)
    report = run(any_db, candidate)
    # The recorded facts of order.paid were never kept (no playbook listened); rebuilt from the delivery
    # with each order as it is now, tagged vip by its later orders/updated.
    assert [
        (c.order_id % 100, c.playbook, c.before.outcome, c.after.outcome, c.approximate)
        for c in report.changes
    ] == [(n, "paid-orders", "none", "escalate", True) for n in range(1, 6)]
    assert (report.approximate, report.changed, report.outcome_changed) == (5, 5, 5)


def test_events_whose_deliveries_retention_deleted_are_counted_not_guessed(any_db: Database, tmp_path: Path) -> None:
    recorded(any_db, tmp_path, [PRICES])
    with any_db.unit_of_work() as uow:  # retention deletes every decided delivery (ADR 0025)
        assert uow.deliveries.prune(0, 1000, datetime(2100, 1, 1, tzinfo=UTC))[1] > 0
        uow.commit()
    candidate = refunds(tmp_path / "candidate", 50)
    (candidate / "paid.yaml").write_text(PAID_ORDERS)
    report = run(any_db, candidate)
    # order.paid's facts were never recorded and its deliveries are gone: reported, not decided on nothing.
    assert (report.unavailable, report.approximate, report.changed) == (5, 0, 0)
    assert report.as_dict()["unavailable_events"] == 5


def test_simulated_usage_drops_windows_that_closed_and_keeps_open_ones() -> None:
    from opsdesk.domain.policies import Usage
    from opsdesk.services.backtest import SimulatedUsage

    usage = SimulatedUsage(timedelta(days=1))
    day = int(T0.timestamp()) // 86400 * 86400
    usage.update({f"r|shop|s|{day - 86400}": Usage(1), f"r|shop|s|{day}": Usage(2), "r|action|-|-": Usage(3)})
    usage.prune(T0)  # T0 is in `day`: the window before it closed a whole period ago
    assert usage == {f"r|shop|s|{day}": Usage(2), "r|action|-|-": Usage(3)}


@pytest.mark.parametrize("until", ["2026-11-01", "2026-11-30"])
def test_a_window_that_ends_where_or_before_it_starts_is_refused_not_reported_empty(
    tmp_path: Path, until: str
) -> None:
    """`--since 2026-11-30 --until 2026-11-01` (the two swapped) printed "0 decisions would change": a clean
    result for a window no decision can be in."""
    from tests.integration.test_cli import init, opsdesk

    init(tmp_path)
    database = (tmp_path / "opsdesk.db").read_bytes()
    done = opsdesk("policy", "backtest", "--playbooks", "playbooks", "--since", "2026-11-30", "--until", until,
                   cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == (
        f"error: --until {until} is not after --since 2026-11-30: no decision can be replayed between them"
    )
    assert (tmp_path / "opsdesk.db").read_bytes() == database
