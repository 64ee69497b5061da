"""Where a page of the queue ended, and the opaque cursor a client sends back for the next page (ADR 0059).

A page by offset shifts when a case opens or ends before it; a page after a mark does not: it starts after the
sort key of the last case the client saw, whatever opened or ended since. The cursor carries that key and a
digest of the filters and the order it was made for, so it is refused (``InvalidInput``, 400) with other ones,
and a digest of itself, so a garbled or edited one is refused too. It grants nothing: the filters and the
caller's shops are the request's, checked as for any page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from opsdesk.domain.cases import Case
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.records import CaseFilter

#: The deepest page by offset the edges (the API, ``opsdesk cases list``) take: paging deeper reads every row before the
#: page, and a larger one overflowed SQLite.
MAX_OFFSET = 1_000_000
#: The queue's runs, in its order: active cases with a deadline, active ones without, ended ones.
DUE, UNDATED, ENDED = 0, 1, 2
#: The one order the queue is read in; a cursor names it, so a later order refuses an earlier one's cursors.
QUEUE_ORDER = "queue-v1"
_CHECK = 16  # hex digits of the cursor's own digest
_LONGEST = 1000  # characters: a cursor this API makes is about 200
_REFUSED = "query parameter 'cursor': {}; start again without it"


@dataclass(frozen=True, slots=True)
class QueueMark:
    """The run of the queue's order the last case seen is in, and that case's sort key in the run:
    ``(due_at, opened_at, id)``, ``(opened_at, id)``, or ``(resolved_at or opened_at, id)`` (read descending)."""

    run: int
    key: tuple[datetime | str, ...]


def queue_mark(case: Case) -> QueueMark:
    """Where ``case`` stands in the queue's order (``SqlCases.search`` and the in-memory one sort by it)."""
    if not case.status.active:
        return QueueMark(ENDED, (case.resolved_at or case.opened_at, case.id))
    if case.due_at is not None:
        return QueueMark(DUE, (case.due_at, case.opened_at, case.id))
    return QueueMark(UNDATED, (case.opened_at, case.id))


def encode_cursor(mark: QueueMark, where: CaseFilter, window: str | None = None) -> str:
    """The opaque cursor for the page after ``mark``, for ``where`` only. ``window`` names a deadline window that
    moves with the clock (the dashboard's "due within 1h"): the cursor is for it, not for ``where.due_before``."""
    key = [v.isoformat() if isinstance(v, datetime) else v for v in mark.key]
    digest = _filter_digest(where, window)
    payload = json.dumps({"o": QUEUE_ORDER, "f": digest, "r": mark.run, "k": key}, separators=(",", ":"))
    check = hashlib.sha256(payload.encode()).hexdigest()[:_CHECK]
    return base64.urlsafe_b64encode(f"{check}{payload}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, where: CaseFilter, window: str | None = None) -> QueueMark:
    """The mark ``cursor`` carries; ``InvalidInput`` naming the parameter if it is garbled or edited, or was made
    for other filters (``window`` as for ``encode_cursor``) or another order."""
    try:
        if len(cursor) > _LONGEST:
            raise ValueError("too long")
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        check, payload = text[:_CHECK], text[_CHECK:]
        if hashlib.sha256(payload.encode()).hexdigest()[:_CHECK] != check:
            raise ValueError("digest")
        fields = json.loads(payload)
        mark = QueueMark(fields["r"], _key(fields["r"], fields["k"]))
    except (ValueError, binascii.Error, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise InvalidInput(_REFUSED.format("not a cursor this API made (garbled or changed)")) from exc
    if fields.get("o") != QUEUE_ORDER:
        raise InvalidInput(_REFUSED.format("it was made for another order of the list"))
    if fields.get("f") != _filter_digest(where, window):
        raise InvalidInput(_REFUSED.format("it was made for other filters (send the ones it was made with)"))
    return mark


def _key(run: Any, key: Any) -> tuple[datetime | str, ...]:
    """The sort key of a run, its times aware (UTC), its id last; ``ValueError`` for anything else."""
    times = {DUE: 2, UNDATED: 1, ENDED: 1}[run] if run in (DUE, UNDATED, ENDED) and type(run) is int else -1
    if times < 0 or not isinstance(key, list) or len(key) != times + 1 or not all(isinstance(v, str) for v in key):
        raise ValueError("key")
    at = tuple(datetime.fromisoformat(v) for v in key[:times])
    if any(t.tzinfo is None for t in at):
        raise ValueError("naive time")
    return (*at, key[-1])


def _filter_digest(where: CaseFilter, window: str | None = None) -> str:
    fields = asdict(where)
    fields["status"] = sorted(set(where.status))
    fields["due_before"] = where.due_before.astimezone(UTC).isoformat() if where.due_before else None
    if window is not None:  # a window relative to now: its name, since its end moves on every request
        fields["due_before"] = f"within {window}"
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:_CHECK]
