"""The queue page's Previous (ADR 0059, session 15): each address carries where the pages before it started, Next
adds this page's start to that trail, Previous takes the last one off; a trail longer than kept loses its oldest
start, and the page it no longer reaches back from offers First page alone. A trail is checked as a cursor is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.queue_cursor import DUE, QueueMark, encode_cursor
from opsdesk.domain.records import CaseFilter
from opsdesk.services.dashboard import MAX_BACK, QueuePage, QueueQuery, check_back
from opsdesk.web.pages.queue import addresses

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
WHERE = CaseFilter(queue="refunds")


def page(number: int, cursor: str | None, back: tuple[str, ...] = (), following: str | None = "c-next") -> QueuePage:
    return QueuePage(QueueQuery(page=number, cursor=cursor, back=back), [], 500, number, 10, NOW, next=following)


def cursor(n: int, where: CaseFilter = WHERE) -> str:
    return encode_cursor(QueueMark(DUE, (NOW, NOW, f"case-{n}")), where)


def test_next_adds_this_pages_start_to_the_trail_and_previous_takes_it_off() -> None:
    assert addresses(page(1, None)) == {"here": {"page": 1, "cursor": None, "back": None},
                                        "following": {"page": 2, "cursor": "c-next", "back": None},
                                        "previous": None}
    assert addresses(page(2, "c1")) == {"here": {"page": 2, "cursor": "c1", "back": None},
                                        "following": {"page": 3, "cursor": "c-next", "back": "c1"},
                                        "previous": {"page": 1}}
    assert addresses(page(4, "c3", ("c1", "c2"), following=None)) == {
        "here": {"page": 4, "cursor": "c3", "back": "c1.c2"},
        "following": {"page": 5, "cursor": None, "back": "c1.c2.c3"},  # no Next is shown: there is none
        "previous": {"page": 3, "cursor": "c2", "back": "c1"},
    }


def test_a_trail_longer_than_kept_loses_its_oldest_start_and_then_offers_only_the_first_page() -> None:
    full = tuple(f"c{n}" for n in range(1, MAX_BACK + 1))
    deep = addresses(page(MAX_BACK + 2, f"c{MAX_BACK + 1}", full))
    assert deep["following"] and deep["following"]["back"] == ".".join(f"c{n}" for n in range(2, MAX_BACK + 2))
    assert deep["previous"] == {"page": MAX_BACK + 1, "cursor": f"c{MAX_BACK}", "back": ".".join(full[:-1])}
    assert addresses(page(7, "c6"))["previous"] is None  # its trail was cut: where page 6 started is not known


def test_a_trail_is_checked_as_a_cursor_is() -> None:
    check_back(QueueQuery(cursor=cursor(3), back=(cursor(1), cursor(2))), WHERE, None)  # made for these filters
    for query in (QueueQuery(cursor=cursor(3), back=(cursor(1), "garbled")),
                  QueueQuery(cursor=cursor(3), back=(cursor(1, CaseFilter(queue="returns")),)),
                  QueueQuery(cursor=None, back=(cursor(1),)),
                  QueueQuery(cursor=cursor(3), back=(cursor(1),) * (MAX_BACK + 1))):
        with pytest.raises(InvalidInput, match=r"query parameter '(cursor|back)'"):
            check_back(query, WHERE, None)
