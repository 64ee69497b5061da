"""The API's and the CLI's one time form (ADR 0059, amended in session 14): a ``datetime`` goes out in UTC; text is
text, shown as it was stored, even when it reads as a time. Before, every whole string shaped like an aware time was
rewritten into UTC: a customer's note "2026-01-05T10:00:00-05:00" came out as "2026-01-05 15:00:00+00:00"."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from opsdesk.cli_common import emit
from opsdesk.web.wire import one_time_form, wire_answer

EST = timezone(timedelta(hours=-5))


def test_a_datetime_goes_out_in_utc_and_text_as_it_is() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=EST)
    answer = wire_answer({"at": at, "inputs": {"note": "2026-01-05T10:00:00-05:00", "at": "2026-01-05T15:00:00+00:00"},
                          "rows": [(at, "2026-01-05T10:00Z")]})
    assert answer == {"at": datetime(2026, 1, 5, 15, 0, tzinfo=UTC),
                      "inputs": {"note": "2026-01-05T10:00:00-05:00", "at": "2026-01-05T15:00:00+00:00"},
                      "rows": [[datetime(2026, 1, 5, 15, 0, tzinfo=UTC), "2026-01-05T10:00Z"]]}
    assert one_time_form(datetime(2026, 1, 5, 10, 0)) == datetime(2026, 1, 5, 10, 0)  # naive: nothing to convert


def test_the_clis_json_writes_its_times_ending_z_and_stored_text_as_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert emit({"at": datetime(2026, 1, 5, 10, 0, tzinfo=EST), "note": "2026-01-05T10:00:00-05:00"}, "json")
    assert orjson.loads(out.getvalue()) == {"at": "2026-01-05T15:00:00Z", "note": "2026-01-05T10:00:00-05:00"}
