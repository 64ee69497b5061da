"""How a list is laid out in a width (ADR 0026): what goes first, what is cut, what never is."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from opsdesk.cli_tables import Column, fit, room, until

ID = "c97a004c52ff008cd23d9a3ebfcf8b94"
TITLE = "return.requested on order 5000000000000000001"
COLUMNS = (
    Column("id", "id"),
    Column("status"),
    Column("owner", rank=1),
    Column("queue", rank=2),
    Column("shop", "id", wide=True),
    Column("title", "text"),
)
ROW = (ID, "open", "team:ops", "refunds", "demo-store.myshopify.com", TITLE)


def test_everything_fits_in_a_wide_room_and_the_wide_only_columns_wait_for_wide() -> None:
    assert fit(COLUMNS, [ROW], 120) == [
        "id                                status  owner     queue    title",
        f"{ID}  open    team:ops  refunds  {TITLE}",
    ]


def test_a_short_room_drops_the_highest_rank_first_then_cuts_the_text_with_an_ellipsis() -> None:
    lines = fit(COLUMNS, [ROW], 80)
    assert lines == [
        "id                                status  owner     title",
        f"{ID}  open    team:ops  return.requested on order 5…",  # 80 - 32 - 6 - 8 - 3 gaps = 28
    ]
    assert all(len(line) <= 80 for line in lines)
    assert fit(COLUMNS, [ROW], 60)[1] == f"{ID}  open    {TITLE[:19]}…"


def test_an_id_wider_than_the_room_is_never_cut_the_line_runs_past_instead() -> None:
    long_id = "address-demo-store.myshopify.com-5000000000000000123-3f2a9c01d4e5b6a7"
    [_, line] = fit(COLUMNS, [(long_id, *ROW[1:])], 40)
    assert line.split()[0] == long_id and line.endswith(f"{TITLE[:19]}…")


def test_wide_and_an_unbounded_room_cut_nothing() -> None:
    assert fit(COLUMNS, [ROW], None)[1].endswith(TITLE)
    assert fit(COLUMNS, [ROW], 40, wide=True)[1] == f"{ID}  open    team:ops  refunds  {ROW[4]}  {TITLE}"


def test_a_narrow_column_gone_with_the_wide_ones_comes_back_when_it_fits() -> None:
    columns = (Column("shop", "id"), Column("since", "id", rank=2), Column("read", rank=1), Column("n", rank=3))
    row = ("a.myshopify.com", "2026-03-02T07:00:00.000000+00:00", "12", "3")
    assert fit(columns, [row], 30) == ["shop             read  n", "a.myshopify.com  12    3"]


def test_a_column_empty_in_every_row_is_left_out_but_an_empty_list_keeps_its_header() -> None:
    columns = (Column("username", "id"), Column("disabled"), Column("name", "text"))
    rows = [("ada", "", "Ada"), ("bob", "", "Bob")]
    assert fit(columns, rows, 80) == ["username  name", "ada       Ada", "bob       Bob"]
    assert fit(columns, [], 80) == ["username  disabled  name"]


def test_numbers_line_up_on_the_right() -> None:
    counts = (Column("shop", "id"), Column("read", right=True))
    assert fit(counts, [("a.myshopify.com", "7"), ("b.myshopify.com", "12")], 80) == [
        "shop             read",
        "a.myshopify.com     7",
        "b.myshopify.com    12",
    ]


def test_wrapped_text_breaks_at_words_under_its_column_and_hyphenated_names_stay_whole() -> None:
    columns = (Column("what"), Column("note", "text"))
    note = "rule refund-request-needs-a-person escalates: always, ask the customer for photos"
    lines = fit(columns, [("opened", note)], 42, wrap=True)
    assert lines == [
        "what    note",
        "opened  rule refund-request-needs-a-person",  # 42 - 6 - 2 = 34 for the note
        "        escalates: always, ask the",
        "        customer for photos",
    ]


def test_the_room_is_the_terminal_else_columns_else_unbounded() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=101)
    piped = Console(file=io.StringIO(), force_terminal=False)
    assert room(terminal, {}) == 101
    assert room(piped, {"COLUMNS": "90"}) == 90
    assert room(piped, {}) is None


def test_a_deadline_reads_from_now() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert until(now + timedelta(minutes=59, seconds=59), now) == "in 59m"
    assert until(now + timedelta(hours=8), now) == "in 8h00m"
    assert until(now - timedelta(days=2, hours=4, minutes=1), now) == "overdue 2d4h"
    assert until(None, now) == "-"
