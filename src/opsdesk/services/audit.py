"""Check the audit log's hash chain from the first row to the head, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from opsdesk.domain.audit import Break, ChainCheck
from opsdesk.ports import UnitOfWork

PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of a verification: how many rows were checked, the head, and the first break if any."""

    checked: int
    head_id: int
    head_hash: str
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"ok": self.ok, "checked": self.checked, "head_id": self.head_id}
        found["head_hash"] = self.head_hash
        if self.broken is not None:
            found["first_bad_row"] = self.broken.row_id
            found["reason"] = self.broken.reason
        return found


def verify_audit(uow: UnitOfWork, *, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Recompute every hash; the first row that does not hold, or a head that does not match the rows.

    ``anchor`` is a row id and hash kept outside the database (the head printed by an earlier run):
    a chain rewritten from that row on, head included, shows up only against such a copy.
    """
    head = uow.audit.head()
    walk = ChainCheck()  # rows erased by a privacy request pass when a redaction entry vouches for them
    last_id, checked, anchored = 0, 0, anchor is None
    while rows := uow.audit.chain(last_id, PAGE):
        broken = walk.feed(rows)
        if broken is not None:
            return AuditReport(checked, head.last_id, head.hash, broken)
        if anchor is not None and not anchored:
            kept = next((r for r in rows if r.id == anchor[0]), None)
            anchored = kept is not None and kept.hash == anchor[1]
        checked += len(rows)
        last_id = rows[-1].id
    broken, prev = walk.finish(), walk.prev
    if broken is not None:
        return AuditReport(checked, head.last_id, head.hash, broken)
    if (last_id, prev, checked) != (head.last_id, head.hash, head.count):
        reason = f"the head says {head.count} rows up to row {head.last_id}; the table has {checked} up to {last_id}"
        return AuditReport(checked, head.last_id, head.hash, Break(last_id or None, reason))
    if not anchored:
        reason = "the row kept as anchor is gone or has another hash: the chain was rewritten"
        return AuditReport(checked, head.last_id, head.hash, Break(anchor[0] if anchor else None, reason))
    return AuditReport(checked, head.last_id, head.hash)
