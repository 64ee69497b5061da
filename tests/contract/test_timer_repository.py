"""What every backend promises about durable timers: scheduling, cancelling, claiming and finishing them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from opsdesk.domain.records import Timer
from opsdesk.ports import Database
from tests.contract.case_records import at
from tests.contract.transactions import read, write

# Timers


def timer(timer_id: str, due: datetime, subject: str = "c1", kind: str = "sla_breach") -> Timer:
    return Timer(id=timer_id, kind=kind, subject=subject, due_at=due, payload={"target": "resolution"})


def claim(db: Database, worker: str, now: datetime, limit: int = 10) -> list[str]:
    claimed = write(db, lambda uow: uow.timers.claim_due(now, limit, now + timedelta(minutes=1), worker))
    return [x.id for x in claimed]


def finish(db: Database, timer_id: str, worker: str, **kw: Any) -> bool:
    return write(db, lambda uow: uow.timers.finish(timer_id, worker=worker, at=at(100), **kw))


def test_scheduled_timers_are_pending_per_subject_in_due_order(any_db: Database) -> None:
    timers = [timer("t2", at(20)), timer("t1", at(10), kind="sla_warning"), timer("x", at(5), subject="c2")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    assert read(any_db, lambda uow: uow.timers.pending("c1")) == [timers[1], timers[0]]
    assert read(any_db, lambda uow: (uow.timers.count(), uow.timers.count("pending"))) == (3, 3)


def test_pending_of_many_subjects_is_pending_of_each_in_one_read(any_db: Database) -> None:
    timers = [timer("t2", at(20)), timer("t1", at(10), kind="sla_warning"), timer("x", at(5), subject="c2"),
              timer("y", at(1), subject="c3")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    write(any_db, lambda uow: uow.timers.cancel("c3"))
    assert read(any_db, lambda uow: uow.timers.pending_many(["c1", "c2", "c3", "c4", "c1"])) == {
        "c1": [timers[1], timers[0]],
        "c2": [timers[2]],
    }
    assert read(any_db, lambda uow: uow.timers.pending_many([])) == {}


def test_scheduling_an_id_again_moves_it_and_rearms_a_cancelled_one(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer("t1", at(10)), timer("t2", at(20))]))
    write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_breach"]))
    write(any_db, lambda uow: uow.timers.schedule([timer("t1", at(30)), timer("t2", at(40))]))
    assert [(x.id, x.due_at, x.status) for x in read(any_db, lambda uow: uow.timers.pending("c1"))] == [
        ("t1", at(30), "pending"),
        ("t2", at(40), "pending"),
    ]
    assert read(any_db, lambda uow: uow.timers.count()) == 2


def test_cancel_takes_out_pending_timers_of_a_subject_by_kind_or_all(any_db: Database) -> None:
    timers = [timer("w", at(1), kind="sla_warning"), timer("b", at(2)), timer("r", at(3), kind="return_timer"),
              timer("other", at(1), subject="c2")]
    write(any_db, lambda uow: uow.timers.schedule(timers))
    assert write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_warning", "sla_breach"])) == 2
    assert write(any_db, lambda uow: uow.timers.cancel("c1", ["sla_warning"])) == 0
    assert [x.id for x in read(any_db, lambda uow: uow.timers.pending("c1"))] == ["r"]
    assert write(any_db, lambda uow: uow.timers.cancel("c1")) == 1
    assert read(any_db, lambda uow: uow.timers.pending("c1")) == []
    assert read(any_db, lambda uow: (uow.timers.count("cancelled"), uow.timers.count("pending"))) == (3, 1)


def still_pending(db: Database, prefix: str) -> set[tuple[str, str, str]]:
    """The pending timers whose subject starts with ``prefix``: (id, subject, kind), the prefix left out."""
    found = read(db, lambda uow: uow.timers.pending_many([f"{prefix}{n}" for n in range(700)]))
    return {(x.id.removeprefix(prefix), x.subject.removeprefix(prefix), x.kind)
            for timers in found.values() for x in timers}


@pytest.mark.parametrize("kinds", [["stuck_order"], ["stuck_order", "followup"], []])
def test_cancelling_many_subjects_at_once_ends_what_cancelling_each_would(any_db: Database, kinds: list[str]) -> None:
    """Two copies of the same timers (prefixes ``a`` and ``b``): one cancelled a subject at a time, the other
    at once; more than one chunk of subjects (500), some named twice, some without a timer."""
    def copy(prefix: str) -> list[Timer]:
        return [timer(f"{prefix}{n}:{kind}", at(n % 7), subject=f"{prefix}{n}", kind=kind)
                for n in range(620) for kind in ("stuck_order", "followup", "sla_breach")[: 1 + n % 3]]

    write(any_db, lambda uow: uow.timers.schedule(copy("a") + copy("b")))
    write(any_db, lambda uow: [uow.timers.cancel(s) for s in ("a6", "a7", "b6", "b7")])  # some ended before
    chosen = [*(n for n in range(700) if n % 5), 3, 6, 9]  # 560 subjects, three named twice

    counts = write(any_db, lambda uow: [uow.timers.cancel(f"a{n}", kinds) for n in chosen])
    cancelled = write(any_db, lambda uow: uow.timers.cancel_many([f"b{n}" for n in chosen], kinds))

    assert cancelled == {f"b{n}" for n, count in zip(chosen, counts, strict=True) if count}
    assert cancelled and still_pending(any_db, "a") == still_pending(any_db, "b")
    assert read(any_db, lambda uow: uow.timers.count("cancelled")) % 2 == 0  # as many in each copy
    assert write(any_db, lambda uow: uow.timers.cancel_many([f"b{n}" for n in chosen], kinds)) == set()
    assert write(any_db, lambda uow: uow.timers.cancel_many([])) == set()


def test_claiming_leases_due_timers_in_due_order_to_one_worker(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer(f"t{i}", at(i)) for i in (3, 1, 2, 9)]))
    assert claim(any_db, "w1", at(5), limit=2) == ["t1", "t2"]
    assert claim(any_db, "w2", at(5)) == ["t3"]
    assert claim(any_db, "w2", at(5.5)) == []  # leased until at(6) and at(6.5)
    assert claim(any_db, "w2", at(7)) == ["t1", "t2", "t3"]  # the leases ran out
    assert finish(any_db, "t1", "w1") is False  # the first worker lost it
    assert finish(any_db, "t1", "w2") is True


def test_finishing_fires_retries_or_fails_a_timer(any_db: Database) -> None:
    write(any_db, lambda uow: uow.timers.schedule([timer("ok", at(1)), timer("again", at(1)),
                                                   timer("bad", at(1))]))
    assert claim(any_db, "w", at(2)) == ["again", "bad", "ok"]
    assert finish(any_db, "ok", "w") is True
    assert finish(any_db, "again", "w", error="handler broke", retry_at=at(30)) is True
    assert finish(any_db, "bad", "w", error="no such case") is True
    assert finish(any_db, "ok", "w") is False  # fired once

    assert read(any_db, lambda uow: [uow.timers.count(s) for s in ("fired", "pending", "failed")]) == [1, 1, 1]
    [retry] = read(any_db, lambda uow: uow.timers.pending("c1"))
    assert (retry.id, retry.due_at, retry.attempts, retry.last_error) == ("again", at(30), 1, "handler broke")
    assert claim(any_db, "w", at(29)) == []
    assert claim(any_db, "w", at(30)) == ["again"]
    assert finish(any_db, "again", "other-worker") is False
