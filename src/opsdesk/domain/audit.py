"""The audit log's hash chain: each entry's hash covers its content and the hash before it.

Changing, removing or reordering any stored entry changes a hash that a later entry (or the chain's
head) still holds, so ``first_break`` finds it. Without a key the chain is plain SHA-256: it shows
tampering by anyone who cannot also rewrite every later row and the head; keep a copy of the head
elsewhere (``opsdesk audit verify`` prints it) to catch that too. With a key kept outside the database
(``OPSDESK_AUDIT_KEY``) each hash is an HMAC-SHA256 under that key (ADR 0024): someone who can write to
the database but does not hold the key cannot make a changed row, or a rebuilt chain, hold.

Erasing a customer's personal data (ADR 0016) rewrites the ``before``/``after`` of some rows, whose
hashes then no longer hold. Such a row passes only when a later entry of the chain, a redaction entry
(``REDACTION_ACTION``), vouches for the row's content as it is now (``content_digest``): the redaction
is itself recorded and chained, and changing a redacted row afterwards is caught like any change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsdesk.domain.errors import InvalidInput

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


#: The shortest audit key accepted: 32 characters (``secrets.token_hex(32)`` gives 64).
MIN_KEY_CHARS = 32


def key_id(key: bytes) -> str:
    """A key's public name, stored on the chain's head: which key wrote it, without revealing the key."""
    return hmac.new(key, b"opsdesk audit key id", hashlib.sha256).hexdigest()[:16]


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: str | None,
    after: str | None,
    key: bytes | None = None,
) -> str:
    """SHA-256 of the entry and the hash before it; HMAC-SHA256 under ``key`` when the chain is keyed."""
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    content = json.dumps([prev_hash, stamp, actor, action, subject, before, after], separators=(",", ":")).encode()
    if key is None:
        return hashlib.sha256(content).hexdigest()
    return hmac.new(key, content, hashlib.sha256).hexdigest()


def row_hash(row: ChainedRow, key: bytes | None = None) -> str:
    return entry_hash(row.prev_hash, row.at, row.actor, row.action, row.subject, row.before, row.after, key)


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends: the newest entry's id and hash, how many entries it holds, and the
    ``key_id`` of the key its hashes were made with (``None``: a plain chain)."""

    last_id: int = 0
    hash: str = GENESIS
    count: int = 0
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditKeys:
    """The audit keys the desk holds (``OPSDESK_AUDIT_KEY``, and ``OPSDESK_AUDIT_PREVIOUS_KEY`` while a
    rotation is under way): the current one writes and rekeys, either one verifies."""

    current: bytes | None = field(default=None, repr=False)
    previous: bytes | None = field(default=None, repr=False)

    @property
    def current_id(self) -> str | None:
        return key_id(self.current) if self.current is not None else None

    def for_head(self, head: ChainHead) -> bytes | None:
        """The key the chain was written with (``None`` for a plain chain); ``InvalidInput`` if not held."""
        if head.key_id is None:
            return None
        for key in (self.current, self.previous):
            if key is not None and key_id(key) == head.key_id:
                return key
        held = ", ".join(key_id(k) for k in (self.current, self.previous) if k is not None) or "none"
        raise InvalidInput(
            f"the audit log is keyed with key {head.key_id}, and the keys set (OPSDESK_AUDIT_KEY, "
            f"OPSDESK_AUDIT_PREVIOUS_KEY) are {held}: set the key it was written with"
        )

    def for_writing(self, head: ChainHead) -> bytes | None:
        """The key new entries are hashed with; ``InvalidInput`` when the chain needs ``opsdesk audit rekey``.

        An empty chain takes the current key (or none). A chain written with another key, or plain while a
        key is set, is not extended: a mixed chain could not tell a forged plain row from an old one.
        """
        if head.count == 0 or head.key_id == self.current_id:
            return self.current
        if self.current is None:
            raise InvalidInput(f"the audit log is keyed with key {head.key_id}: set OPSDESK_AUDIT_KEY to that key")
        raise InvalidInput(
            f"the audit log is {'plain' if head.key_id is None else f'keyed with key {head.key_id}'}, "
            f"and OPSDESK_AUDIT_KEY is key {self.current_id}: run `opsdesk audit rekey` once"
        )


def audit_key(value: str | None, name: str) -> bytes | None:
    """An audit key from the environment: at least ``MIN_KEY_CHARS`` characters, taken as UTF-8 bytes."""
    if value is None or value == "":
        return None
    if len(value.strip()) < MIN_KEY_CHARS:
        raise InvalidInput(
            f"{name} must be at least {MIN_KEY_CHARS} characters of secret "
            "(python -c 'import secrets; print(secrets.token_hex(32))' makes one)"
        )
    return value.strip().encode()


@dataclass(frozen=True, slots=True)
class Break:
    """Where the chain stops holding: the first row that was changed, removed before, or cut after."""

    row_id: int | None
    reason: str


def first_break(
    rows: list[ChainedRow], prev_hash: str = GENESIS, key: bytes | None = None
) -> tuple[Break | None, str]:
    """Check ``rows`` (in id order) continuing from ``prev_hash``; the first break and the last hash."""
    for row in rows:
        if row.prev_hash != prev_hash:
            return Break(row.id, _UNLINKED), prev_hash
        if row_hash(row, key) != row.hash:
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

    key: bytes | None = None  # the chain's key, if it is keyed
    prev: str = GENESIS
    claims: dict[int, str] = field(default_factory=dict)
    vouched: dict[int, str] = field(default_factory=dict)

    def feed(self, rows: list[ChainedRow]) -> Break | None:
        for row in rows:
            if row.prev_hash != self.prev:
                return self._first(Break(row.id, _UNLINKED))
            if row_hash(row, self.key) != row.hash:
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
