"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL, and undo cleanly.

Each migration is written by hand (several people add tables at once), so nothing but this test keeps
``storage/tables/`` and ``storage/migrations/versions/`` in step.
"""

from __future__ import annotations

import json
import threading
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, column, insert, select, table, text

from opsdesk.domain.errors import SchemaAhead
from opsdesk.domain.inventory import StockLevel
from opsdesk.domain.records import CaseRecord, FollowupProgress, OutboxAction
from opsdesk.storage.schema import downgrade, is_current, migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine
from opsdesk.storage.tables import actions, cases, inventory_levels, metadata, usage
from tests.integration.test_outbox_sequence import decision_actions
from tests.samples import SHOP

#: Indexes on an expression, which alembic cannot reflect: tests/contract/test_case_queue_plans.py checks that the
#: migrated database has each and that its query reads it.
EXPRESSION_INDEXES = {"ix_cases_ended", "ix_cases_ended_queue", "ix_cases_ended_owner"}


def _compared(_obj: object, name: str | None, kind: str, _reflected: bool, _other: object) -> bool:
    return not (kind == "index" and name in EXPRESSION_INDEXES)


def test_the_migrated_schema_matches_the_declared_tables(sql_db: SqlDatabase) -> None:
    with sql_db.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _compared})
        differences = compare_metadata(context, metadata)
    report = "\n".join(map(repr, differences))
    assert differences == [], f"storage/tables/ and the migrations disagree:\n{report}"
    assert is_current(sql_db.engine)


def test_every_migration_downgrades_to_nothing_and_upgrades_again(sql_db: SqlDatabase) -> None:
    migrate(sql_db.engine, "head")
    downgrade(sql_db.engine, "base")
    with sql_db.engine.connect() as conn:
        left = set(sql_db.engine.dialect.get_table_names(conn)) - {"alembic_version"}
    assert left == set()
    migrate(sql_db.engine, "head")
    assert is_current(sql_db.engine)



def test_follow_up_progress_moves_out_of_the_usage_table_and_back(sql_db: SqlDatabase) -> None:
    """Migration 0010: ``followup|<shop>|<order>`` usage rows become follow-up rows (ADR 0022), and back."""
    sent = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    others = {"monitor|followup|customer|9000001|1772409600": (1, "0"), "refunds|customer|c|1": (1, "19.99")}
    progress = {f"followup|{SHOP}|4783296544821": (2, str(int(sent.timestamp()))),
                f"followup|{SHOP}|820982911946154508": (1, str(int(sent.timestamp()) - 86400))}
    downgrade(sql_db.engine, "0009")
    with sql_db.engine.begin() as conn:
        rows = [{"key": k, "count": c, "amount": a} for k, (c, a) in {**others, **progress}.items()]
        conn.execute(insert(usage), rows)

    migrate(sql_db.engine, "head")
    with sql_db.unit_of_work() as uow:
        assert uow.followups.page(0, 10) == [
            FollowupProgress(SHOP, 820982911946154508, 1, sent - timedelta(days=1), sent - timedelta(days=1), 1),
            FollowupProgress(SHOP, 4783296544821, 2, sent, sent, 2)]
        assert sorted(uow.usage.keys("", 10)) == sorted(others)

    downgrade(sql_db.engine, "0009")
    with sql_db.engine.connect() as conn:
        back = conn.execute(select(usage)).all()
    assert {r.key: (r.count, r.amount) for r in back} == {**others, **progress}
    migrate(sql_db.engine, "head")


def test_cases_stored_before_keys_are_numbered_in_the_order_they_opened_and_new_ones_follow(
    sql_db: SqlDatabase,
) -> None:
    """Migration 0011 (ADR 0029): existing cases get 1, 2, ... by when they opened (the id breaks a tie), the
    next case opened takes the number after them; downgrading drops the numbers and keeps the cases."""
    downgrade(sql_db.engine, "0010")
    opened = {"zz-first": T0, "bb-second": T0 + timedelta(minutes=5), "aa-third": T0 + timedelta(minutes=9),
              "ab-tied-with-third": T0 + timedelta(minutes=9)}
    old = table("cases", *(column(c.name, c.type) for c in cases.c if c.name != "number"))  # as 0010 left it
    with sql_db.engine.begin() as conn:
        conn.execute(insert(old), [_old_case(case_id, at) for case_id, at in reversed(opened.items())])

    migrate(sql_db.engine, "head")
    with sql_db.unit_of_work() as uow:
        assert [uow.cases.get(f"C-{n}").id for n in (1, 2, 3, 4)] == list(opened)
        new = uow.cases.open(CaseRecord("new", SHOP, "refund", "refunds", "t", "r", T0 + timedelta(hours=1)))
        uow.commit()
    assert new.key == "C-5"

    downgrade(sql_db.engine, "0010")
    with sql_db.engine.connect() as conn:
        assert "number" not in {c["name"] for c in sql_db.engine.dialect.get_columns(conn, "cases")}
        assert sorted(conn.execute(select(old.c.id)).scalars()) == sorted([*opened, "new"])
    migrate(sql_db.engine, "head")
    with sql_db.unit_of_work(read_only=True) as uow:
        assert [uow.cases.get(f"C-{n}").id for n in (1, 2, 3, 4, 5)] == [*opened, "new"]


def test_levels_stored_before_keep_when_they_were_in_stock(sql_db: SqlDatabase) -> None:
    """Migration 0012: a level stored at zero or above was in stock when it was heard; one below zero is not known
    to have been (NULL), and a later fall keeps what the level knows."""
    downgrade(sql_db.engine, "0011")
    old = table("inventory_levels", *(column(c.name, c.type) for c in inventory_levels.c if c.name != "in_stock_at"))
    rows = [{"shop": SHOP, "inventory_item_id": item, "location_id": 1, "available": available, "updated_at": T0}
            for item, available in ((1, 0), (2, -1))]
    with sql_db.engine.begin() as conn:
        conn.execute(insert(old), rows)

    migrate(sql_db.engine, "head")
    with sql_db.unit_of_work() as uow:
        _, levels = uow.inventory.stock(SHOP, (), (1, 2))
        assert sorted((x.inventory_item_id, x.in_stock_at) for x in levels) == [(1, T0), (2, None)]
        fell = StockLevel(SHOP, 1, 1, -2, T0 + timedelta(minutes=5))
        uow.inventory.put_levels([fell])  # given no time in stock: the stored one stays
        uow.commit()
    with sql_db.unit_of_work(read_only=True) as uow:
        _, levels = uow.inventory.stock(SHOP, (), (1,))
        assert [(x.available, x.in_stock_at) for x in levels] == [(-2, T0)]
    downgrade(sql_db.engine, "0011")
    migrate(sql_db.engine, "head")


def test_actions_pending_before_positions_keep_going_out_as_before(sql_db: SqlDatabase) -> None:
    """Migration 0013: actions stored before it are all at position 0 and wait for none (a refund's email whose id
    sorts first is still claimed beside it, as before); a decision recorded after it is sent in its order."""
    downgrade(sql_db.engine, "0012")
    before, after = decision_actions(2001, email_first=True), decision_actions(2002, email_first=True)
    old = table("actions", *(column(c.name, c.type) for c in actions.c if c.name != "position"))
    with sql_db.engine.begin() as conn:
        conn.execute(insert(old), [_old_action(a) for a in before])

    migrate(sql_db.engine, "head")
    with sql_db.unit_of_work() as uow:
        assert [(a.kind, a.position) for a in map(uow.outbox.get, (x.id for x in before))] == [
            ("refund", 0), ("email", 0)]
        uow.outbox.add_many(after)
        claimed = uow.outbox.claim_due(T0 + timedelta(days=365), 50, T0 + timedelta(days=366), "w1")
        uow.commit()
    assert sorted(a.id for a in claimed) == sorted([before[0].id, before[1].id, after[0].id])
    downgrade(sql_db.engine, "0012")
    migrate(sql_db.engine, "head")


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _old_action(action: OutboxAction) -> dict[str, object]:
    return {"id": action.id, "decision_id": action.decision_id, "shop": action.shop, "order_id": action.order_id,
            "kind": action.kind, "provider": action.provider, "payload": json.dumps(action.payload),
            "idempotency_key": action.idempotency_key, "status": "pending", "attempts": 0,
            "next_attempt_at": action.next_attempt_at, "lease_owner": None, "lease_until": None, "last_error": "",
            "history": "[]", "created_at": action.created_at}


def _old_case(case_id: str, at: datetime) -> dict[str, object]:
    return {"id": case_id, "shop": SHOP, "kind": "refund", "queue": "refunds", "title": f"case {case_id}",
            "reason": "over the cap", "order_id": None, "source": "", "priority": "normal", "status": "open",
            "detail": "{}", "opened_at": at, "version": 1, "escalation_level": 0}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database nobody has migrated yet: a new SQLite file, or a PostgreSQL schema of its own."""
    return f"sqlite:///{tmp_path / 'fresh.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("round_", range(12))
def test_processes_migrating_one_database_at_once_all_succeed(sql_url: str, round_: int) -> None:
    """``serve`` and a ``worker`` started together on a fresh (or just upgraded) database both migrate it first:
    one does, the others wait for it and find nothing left to do (on PostgreSQL, without the lock, the second
    failed creating a table the first had just made; on a new SQLite file, one in fourteen races had a connection
    told "database is locked" while another switched the file to WAL: twelve rounds, a fresh database each)."""
    engines = [create_sql_engine(sql_url) for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert is_current(engines[0])
    for engine in engines:
        engine.dispose()


def test_a_database_a_newer_opsdesk_migrated_is_refused_saying_so(sql_db: SqlDatabase) -> None:
    with sql_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaAhead, match="schema is at revision 0099, which this opsdesk does not know"):
        migrate(sql_db.engine)


def test_a_database_at_head_is_left_as_it_is_without_reading_the_scripts(sql_db: SqlDatabase,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every desk built migrates first (ADR 0032): on a database already at head, alembic's upgrade read every
    migration script a second time to find nothing to do; now migrate compares the revision with ``schema.HEAD``
    and reads none (ADR 0054, session 15)."""
    reads: list[str] = []
    load = ScriptDirectory.from_config
    monkeypatch.setattr(ScriptDirectory, "from_config", lambda config: reads.append("read") or load(config))
    with sql_db.engine.connect() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
    migrate(sql_db.engine)
    assert (reads, is_current(sql_db.engine)) == (["read"], True)  # is_current's only
    with sql_db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == before
