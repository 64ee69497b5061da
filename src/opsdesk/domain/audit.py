"""The audit log's hash chain: each entry's hash covers its content and the hash before it.

Changing, removing or reordering any stored entry changes a hash that a later entry (or the chain's
head) still holds, so ``first_break`` finds it. The chain is a plain SHA-256 chain: it shows tampering
by anyone who cannot also rewrite every later row and the head; keep a copy of the head elsewhere
(``opsdesk audit verify`` prints it) to catch that too.

Erasing a customer's personal data (ADR 0016) rewrites the ``before``/``after`` of some rows, whose
hashes then no longer hold. Such a row passes only when a later entry of the chain, a redaction entry
(``REDACTION_ACTION``), vouches for the row's content as it is now (``content_digest``): the redaction
is itself recorded and chained, and changing a redacted row afterwards is caught like any change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

GENESIS = ""
#: The action of the audit entries that vouch for rows whose personal part was erased.
REDACTION_ACTION = "privacy.redacted"
_UNLINKED = "does not follow the row before it: that row was changed, or rows were removed"
_CHANGED = "its content does not match its hash (the row was changed)"


@dataclass(frozen=True, slots=True)
class ChainedRow:
    """An audit row as stored: its content in stored form (JSON text), and its two hashes."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: str | None
    after: str | None
    prev_hash: str
    hash: str


def entry_hash(
    prev_hash: str, at: datetime, actor: str, action: str, subject: str, before: str | None, after: str | None
) -> str:
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    content = json.dumps([prev_hash, stamp, actor, action, subject, before, after], separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


def row_hash(row: ChainedRow) -> str:
    return entry_hash(row.prev_hash, row.at, row.actor, row.action, row.subject, row.before, row.after)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends: the newest entry's id and hash, and how many entries it holds."""

    last_id: int = 0
    hash: str = GENESIS
    count: int = 0


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain stops holding: the first row that was changed, removed before, or cut after."""

    row_id: int | None
    reason: str


def first_break(rows: list[ChainedRow], prev_hash: str = GENESIS) -> tuple[Break | None, str]:
    """Check ``rows`` (in id order) continuing from ``prev_hash``; the first break and the last hash."""
    for row in rows:
        if row.prev_hash != prev_hash:
            return Break(row.id, _UNLINKED), prev_hash
        if row_hash(row) != row.hash:
            return Break(row.id, _CHANGED), prev_hash
        prev_hash = row.hash
    return None, prev_hash


def content_digest(row: ChainedRow) -> str:
    """What a redaction entry vouches for: a row's id, both hashes and its whole content as it is now."""
    stamp = row.at.astimezone(UTC).isoformat(timespec="microseconds")
    material = [row.id, row.prev_hash, row.hash, stamp, row.actor, row.action, row.subject, row.before, row.after]
    return hashlib.sha256(json.dumps(material, separators=(",", ":")).encode()).hexdigest()


def vouched_rows(after: str | None) -> dict[int, str]:
    """The rows a redaction entry vouches for (row id -> ``content_digest``), from its ``after``."""
    try:
        rows = json.loads(after or "{}").get("rows", {})
    except (ValueError, AttributeError):
        return {}
    return {int(k): str(v) for k, v in rows.items()} if isinstance(rows, dict) else {}


@dataclass(slots=True)
class ChainCheck:
    """``first_break`` over pages, accepting rows whose personal part was erased and vouched for.

    A row whose content does not match its hash is held as a claim; it passes when a later, intact
    redaction entry vouches for exactly its current content (the latest voucher of a row counts).
    """

    prev: str = GENESIS
    claims: dict[int, str] = field(default_factory=dict)
    vouched: dict[int, str] = field(default_factory=dict)

    def feed(self, rows: list[ChainedRow]) -> Break | None:
        for row in rows:
            if row.prev_hash != self.prev:
                return self._first(Break(row.id, _UNLINKED))
            if row_hash(row) != row.hash:
                self.claims[row.id] = content_digest(row)
            elif row.action == REDACTION_ACTION:
                self.vouched.update((i, d) for i, d in vouched_rows(row.after).items() if i < row.id)
            self.prev = row.hash
        return None

    def finish(self) -> Break | None:
        """The first changed row no redaction vouches for, once every row was fed."""
        return self._first(None)

    def _first(self, broken: Break | None) -> Break | None:
        limit = broken.row_id if broken is not None and broken.row_id is not None else None
        bad = [i for i, d in self.claims.items() if self.vouched.get(i) != d and (limit is None or i < limit)]
        return Break(min(bad), _CHANGED + " and no redaction vouches for it") if bad else broken
