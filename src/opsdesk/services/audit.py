"""Check the audit log's hash chain from the first row to the head, a page at a time; rekey it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from opsdesk.domain.audit import AuditKeys, Break, ChainCheck, ChainHead, entry_hash
from opsdesk.domain.errors import InvalidInput
from opsdesk.ports import UnitOfWork

PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of a verification: how many rows were checked, the head, and the first break if any."""

    checked: int
    head_id: int
    head_hash: str
    broken: Break | None = None
    key_id: str | None = None  # the key the chain is hashed with; None: plain SHA-256

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"ok": self.ok, "checked": self.checked, "head_id": self.head_id}
        found["head_hash"] = self.head_hash
        found["key_id"] = self.key_id
        if self.broken is not None:
            found["first_bad_row"] = self.broken.row_id
            found["reason"] = self.broken.reason
        return found


_PLAIN_UNDER_KEY = (
    "the chain is plain SHA-256 but OPSDESK_AUDIT_KEY is set: it was rebuilt by someone without the key, "
    "or it was never keyed (then run `opsdesk audit rekey` once)"
)


def verify_audit(
    uow: UnitOfWork, *, anchor: tuple[int, str] | None = None, keys: AuditKeys | None = None
) -> AuditReport:
    """Recompute every hash; the first row that does not hold, or a head that does not match the rows.

    ``anchor`` is a row id and hash kept outside the database (the head printed by an earlier run):
    a plain chain rewritten from that row on, head included, shows up only against such a copy. A keyed
    chain (``keys``, ADR 0024) cannot be rewritten without the key; a plain chain found where a key is set
    is reported, since that is what someone without the key would leave. ``InvalidInput`` when the chain
    is keyed with a key not in ``keys``.
    """
    keys = keys or AuditKeys()
    head = uow.audit.head()
    key = keys.for_head(head)
    report = _walk(uow, head, ChainCheck(key=key), anchor)
    if report.ok and head.key_id is None and keys.current is not None and head.count > 0:
        return replace(report, broken=Break(None, _PLAIN_UNDER_KEY))
    return report


def _walk(
    uow: UnitOfWork,
    head: ChainHead,
    walk: ChainCheck,
    anchor: tuple[int, str] | None,
    on_page: Callable[[int], None] | None = None,
) -> AuditReport:
    # Rows erased by a privacy request pass when a redaction entry vouches for them (``ChainCheck``).
    last_id, checked, anchored = 0, 0, anchor is None

    def report(broken: Break | None = None) -> AuditReport:
        return AuditReport(checked, head.last_id, head.hash, broken, head.key_id)

    while rows := uow.audit.chain(last_id, PAGE):
        broken = walk.feed(rows)
        if broken is not None:
            return report(broken)
        if anchor is not None and not anchored:
            kept = next((r for r in rows if r.id == anchor[0]), None)
            anchored = kept is not None and kept.hash == anchor[1]
        checked += len(rows)
        last_id = rows[-1].id
        if on_page is not None:
            on_page(len(rows))
    broken, prev = walk.finish(), walk.prev
    if broken is not None:
        return report(broken)
    if (last_id, prev, checked) != (head.last_id, head.hash, head.count):
        reason = f"the head says {head.count} rows up to row {head.last_id}; the table has {checked} up to {last_id}"
        return report(Break(last_id or None, reason))
    if not anchored:
        reason = "the row kept as anchor is gone or has another hash: the chain was rewritten"
        return report(Break(anchor[0] if anchor else None, reason))
    return report()


def check_writable(uow: UnitOfWork, keys: AuditKeys) -> None:
    """``InvalidInput`` now, at start-up, if entries could not be added to the chain with ``keys`` (ADR 0024):
    a desk started with the wrong key, or none, would otherwise fail at its first audited change."""
    keys.for_writing(uow.audit.head())


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """What ``rekey_audit`` did: rows rehashed, and the key ids before and after (None: plain)."""

    rows: int
    old_key_id: str | None
    new_key_id: str | None

    def as_dict(self) -> dict[str, object]:
        return {"rows": self.rows, "old_key_id": self.old_key_id, "new_key_id": self.new_key_id}


def rekey_audit(
    uow: UnitOfWork,
    keys: AuditKeys,
    *,
    anchor: tuple[int, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Rekeyed:
    """Rehash the whole chain under ``keys.current``, after checking it under the key it was written with.

    Plain → keyed when a key is first set; previous key → current key during a rotation (both set). The
    chain must verify first (with ``anchor`` if given): rekeying a tampered chain would launder it. Runs
    in the caller's transaction, holding the head, so no entry is added meanwhile; the caller commits.
    ``progress(done, total)`` is called as rows are checked and rewritten (twice the row count in all).
    """
    if keys.current is None:
        raise InvalidInput("set OPSDESK_AUDIT_KEY to the new key (and OPSDESK_AUDIT_PREVIOUS_KEY to the old one)")
    head = uow.audit.lock_head()
    if head.key_id == keys.current_id:
        return Rekeyed(0, head.key_id, head.key_id)
    seen = 0

    def tick(count: int) -> None:
        nonlocal seen
        seen += count
        if progress is not None:
            progress(seen, 2 * head.count)

    checked = _walk(uow, head, ChainCheck(key=keys.for_head(head)), anchor, tick)
    if checked.broken is not None:
        where = f"row {checked.broken.row_id}" if checked.broken.row_id is not None else "the chain"
        raise InvalidInput(f"the audit log does not verify ({where}: {checked.broken.reason}); not rekeyed")
    last_id, prev = 0, ""
    while rows := uow.audit.chain(last_id, PAGE):
        hashes = []
        for r in rows:
            digest = entry_hash(prev, r.at, r.actor, r.action, r.subject, r.before, r.after, keys.current)
            hashes.append((r.id, prev, digest))
            prev = digest
        uow.audit.rehash(hashes)
        last_id = rows[-1].id
        tick(len(rows))
    uow.audit.move_head(replace(head, hash=prev, key_id=keys.current_id))
    return Rekeyed(head.count, head.key_id, keys.current_id)
