"""The list commands at 80 and 120 columns (ADR 0026): one line per row, every id whole, text cut, JSON whole.

A real desk on a SQLite file, filled by the real services: a discount incident and its case (the guard,
through a fake Admin API over HTTP), refund cases (the pipeline), an address case with a long id (the
case service), a missed pickup and an account; then the real commands through Typer's runner.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsdesk.cli import cli
from opsdesk.domain.pickups import MissedPickup
from opsdesk.domain.records import CaseRecord
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.services import users
from opsdesk.services.cases import open_case
from tests.integration.discount_pickup_harness import discount_payload, fake_admin, scenario
from tests.pipeline_harness import feed
from tests.samples import SHOP, order_lifecycle

__all__ = ["fake_admin"]

GID = "gid://shopify/DiscountAutomaticNode/9901"
DISCOUNT = "Oops 95: spring clearance for returning customers, every item"
ADDRESS = f"address-{SHOP}-5000000000000000123-3f2a9c01d4e5b6a7"
ADDRESS_TITLE = "Shipping address failed validation: Flat 3, 221B Baker Street has no postcode the carrier accepts"
WIDTHS = [80, 120]


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_admin: FakeShopifyAdmin) -> list[str]:
    start = datetime.now(UTC).replace(microsecond=0)  # the commands read the SLA deadlines from the wall clock
    fake_admin.store.add_discount(GID, title=DISCOUNT, percentage=0.95, all_items=True, ends_at=None)
    run = scenario(tmp_path, monkeypatch, fake_admin, start)
    run.deliver("discounts/create", discount_payload(GID, DISCOUNT, start), start)
    run.run_until(start + timedelta(seconds=10))
    feed(run.desk.db, [d for n in (1, 2) for d in order_lifecycle(n, reason="OTHER")[:6]], run.clock)
    run.desk.process_pending()
    now = run.clock.now()
    with run.desk.db.unit_of_work() as uow:
        record = CaseRecord(ADDRESS, SHOP, "address", "warehouse", ADDRESS_TITLE, "the carrier refused it", now,
                            order_id=5_000_000_000_000_000_123)
        open_case(uow, record, run.desk.case_hooks, now)
        uow.pickups.record_missed(
            MissedPickup(SHOP, 7_100_000_002, "brooklyn", "UPS", now, now - timedelta(minutes=30), now)
        )
        users.add_user(uow, "paula@example.com", "a long enough password", "Paula Price", {SHOP: "agent"},
                       "paula", now=now)
        uow.commit()
    return ["--config", str(tmp_path / "opsdesk.yaml"), "--database-url", f"sqlite:///{tmp_path}/opsdesk.db"]


def output(where: list[str], columns: int | None, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, *where], env={"COLUMNS": None if columns is None else str(columns)})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def as_json(where: list[str], *args: str) -> Any:
    return json.loads(output(where, None, *args, "--format", "json"))


def rows_of(text: str, heading: str | None) -> tuple[str, list[str]]:
    """The header and the rows of a list (its title line checked and dropped)."""
    lines = text.splitlines()
    if heading is not None:
        assert lines.pop(0) == heading
    assert not set(text) & set("│┃━─┏┗┡╇"), text  # no box: a row is a line grep can read
    return lines[0], lines[1:]


def cut_or_whole(shown: str, value: str) -> bool:
    """Free text is printed whole, or as its beginning and an ellipsis: never wrapped onto a second line."""
    return shown == value or (shown.endswith("…") and value.startswith(shown[:-1]) and len(shown) >= 12)


def minutes_left(cells: list[str]) -> int | None:
    """``in 7h59m`` as minutes; ``-`` (no deadline) as None."""
    if cells[0] == "-":
        return None
    found = re.fullmatch(r"(?:(\d+)h)?(\d+)m|(\d+)d(\d+)h", cells[1])  # a day or more ahead: whole hours
    assert cells[0] == "in" and found, cells
    if found[3] is not None:
        return int(found[3]) * 24 * 60 + int(found[4]) * 60
    return int(found[1] or 0) * 60 + int(found[2])


def deadline(due_at: str | None, before: datetime, after: datetime) -> list[int | None]:
    """The whole minutes left before ``due_at`` as the command may have read the clock."""
    if due_at is None:
        return [None]
    due = datetime.fromisoformat(due_at)
    minutes = range(int((due - after).total_seconds()) // 60, int((due - before).total_seconds()) // 60 + 1)
    return [m - m % 60 if m >= 24 * 60 else m for m in minutes]  # a day or more ahead is shown in whole hours


@pytest.mark.parametrize("columns", WIDTHS)
def test_the_case_queue_is_one_line_per_case_named_by_its_key_within_the_width_with_the_address_case(
    where: list[str], columns: int
) -> None:
    """ADR 0029: the queue names each case by its key; the address case's 69-character id no longer pushes
    the line past 80 columns (ADR 0026 let it run past)."""
    page = as_json(where, "cases", "list")
    assert len(page["cases"]) == 4 and ADDRESS in [c["id"] for c in page["cases"]]
    before = datetime.now(UTC)
    header, rows = rows_of(output(where, columns, "cases", "list"), "cases 1-4 of 4")
    after = datetime.now(UTC)
    assert header.split()[:3] == ["key", "due", "status"] and header.split()[-1] == "title"
    assert len(rows) == len(page["cases"]) and all(len(line) <= columns for line in [header, *rows])
    for row, case in zip(rows, page["cases"], strict=True):
        assert row.split()[0] == case["key"] and re.fullmatch(r"C-[1-9][0-9]*", case["key"])
        assert case["id"] not in row
        assert minutes_left(row.split()[1:3]) in deadline(case["due_at"], before, after)
        assert cut_or_whole(row.rsplit("  ", 1)[1], case["title"]), row
    assert len({c["key"] for c in page["cases"]}) == 4
    if columns == 80:
        assert "owner" in header.split()  # room the id took is the owner's now


@pytest.mark.parametrize("columns", WIDTHS)
def test_a_queue_named_by_keys_keeps_every_column_at_80_and_cuts_only_the_title(
    where: list[str], columns: int
) -> None:
    page = as_json(where, "cases", "list", "--queue", "refunds")
    header, rows = rows_of(output(where, columns, "cases", "list", "--queue", "refunds"), "cases 1-2 of 2")
    assert all(len(line) <= columns for line in [header, *rows])
    assert [row.split()[0] for row in rows] == [c["key"] for c in page["cases"]]
    names = header.split()  # keys leave room at 80 for every column of the queue, the title cut to fit
    assert names == ["key", "due", "status", "owner", "priority", "queue", "kind", "title"]
    titles = [row.rsplit("  ", 1)[1] for row in rows]
    assert all(cut_or_whole(t, c["title"]) for t, c in zip(titles, page["cases"], strict=True))
    assert any(t.endswith("…") for t in titles) == (columns == 80)


def test_piped_with_no_columns_set_nothing_is_cut_and_wide_adds_every_column(where: list[str]) -> None:
    page = as_json(where, "cases", "list")
    _, rows = rows_of(output(where, None, "cases", "list"), "cases 1-4 of 4")
    assert [row.rsplit("  ", 1)[1] for row in rows] == [c["title"] for c in page["cases"]]
    header, rows = rows_of(output(where, 80, "cases", "list", "--wide"), "cases 1-4 of 4")
    assert header.split()[-6:] == ["id", "shop", "order", "deadline", "opened", "title"]
    for row, case in zip(rows, page["cases"], strict=True):
        assert row.endswith(case["title"]) and SHOP in row.split() and case["id"] in row.split()
        assert str(case["order_id"] or "-") in row.split()


@pytest.mark.parametrize("columns", WIDTHS)
def test_discount_incidents_show_the_case_key_whole_and_wide_adds_the_discount_gid(
    where: list[str], columns: int
) -> None:
    [incident] = as_json(where, "discounts", "incidents")
    header, [row] = rows_of(output(where, columns, "discounts", "incidents"), "1 discount incident(s)")
    assert header.split()[0] == "case" and row.split()[0] == incident["case_key"]  # C-1042, as everywhere (ADR 0029)
    assert len(row) <= columns and cut_or_whole(row.rsplit("  ", 1)[1], DISCOUNT)
    assert f"{incident['money_at_risk']} {incident['currency']}".strip() in row
    _, [row] = rows_of(output(where, columns, "discounts", "incidents", "--wide"), "1 discount incident(s)")
    assert GID in row.split() and row.endswith(DISCOUNT)


@pytest.mark.parametrize("columns", WIDTHS)
def test_missed_pickups_and_accounts_are_one_line_each_within_the_width(where: list[str], columns: int) -> None:
    header, [row] = rows_of(output(where, columns, "pickups", "missed"), "1 missed pickup(s)")
    assert "7100000002" in row.split() and "brooklyn" in row.split() and len(row) <= columns
    header, [row] = rows_of(output(where, columns, "users", "list"), None)
    assert header.split()[0] == "username" and row.split()[0] == "paula@example.com" and len(row) <= columns
    assert cut_or_whole(row.rsplit("  ", 1)[1], f"agent in {SHOP}")


@pytest.mark.parametrize("columns", WIDTHS)
def test_a_case_shown_wraps_its_text_at_words_and_keeps_its_id_whole(where: list[str], columns: int) -> None:
    text = output(where, columns, "cases", "show", ADDRESS)
    key = next(c["key"] for c in as_json(where, "cases", "list")["cases"] if c["id"] == ADDRESS)
    assert text.splitlines()[0] == f"case {key} ({ADDRESS})"
    assert output(where, columns, "cases", "show", key) == text  # by its key, the same case
    assert all(len(line) <= columns for line in text.splitlines()[1:])
    words = " ".join(text.split())
    assert all(word in text.split() for word in ADDRESS_TITLE.split())  # no word broken across lines
    assert "the carrier refused it" in words and "timeline" in words and "decisions on the order" in words


def test_the_json_is_the_same_whole_document_at_any_width(where: list[str]) -> None:
    for args in (("cases", "list"), ("discounts", "incidents"), ("pickups", "missed"), ("users", "list")):
        documents = [json.loads(output(where, w, *args, "--format", "json")) for w in (None, 80, 120)]
        assert documents[0] == documents[1] == documents[2]
    page = as_json(where, "cases", "list")
    assert set(page) == {"total", "limit", "offset", "next", "cases"}
    assert set(page["cases"][0]) == {
        "key", "id", "shop", "kind", "queue", "title", "reason", "status", "status_text", "owner", "priority",
        "order_id", "source", "version", "opened_at", "updated_at", "due_at", "first_response_at", "resolved_at",
        "resolution", "escalation_level",
    }
    [incident] = as_json(where, "discounts", "incidents")
    assert incident["discount_id"] == GID and incident["title"] == DISCOUNT and incident["case_id"]
