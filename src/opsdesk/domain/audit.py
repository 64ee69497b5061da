"""The audit log's hash chain: each entry's hash covers its content and the hash before it.

Changing, removing or reordering any stored entry changes a hash that a later entry (or the chain's
head) still holds, so ``first_break`` finds it. The chain is a plain SHA-256 chain: it shows tampering
by anyone who cannot also rewrite every later row and the head; keep a copy of the head elsewhere
(``opsdesk audit verify`` prints it) to catch that too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = ""


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
            reason = "does not follow the row before it: that row was changed, or rows were removed"
            return Break(row.id, reason), prev_hash
        if row_hash(row) != row.hash:
            return Break(row.id, "its content does not match its hash (the row was changed)"), prev_hash
        prev_hash = row.hash
    return None, prev_hash
