"""A case's row read back: the whole case, or the record that opened it."""

from __future__ import annotations

from typing import Any

from opsdesk.domain.cases import Case, CaseStatus
from opsdesk.domain.records import CaseRecord
from opsdesk.storage.codec import loads


def _full(r: Any) -> Case:
    return Case(
        id=r["id"],
        shop=r["shop"],
        kind=r["kind"],
        queue=r["queue"],
        title=r["title"],
        reason=r["reason"],
        opened_at=r["opened_at"],
        status=CaseStatus(r["status"]),
        owner=r["owner"],
        priority=r["priority"],
        order_id=r["order_id"],
        source=r["source"],
        version=r["version"],
        updated_at=r["updated_at"],
        first_response_at=r["first_response_at"],
        resolved_at=r["resolved_at"],
        resolution=r["resolution"],
        escalation_level=r["escalation_level"],
        detail=loads(r["detail"]),
        due_at=r["due_at"],
        number=r["number"],
    )


def _record(r: Any) -> CaseRecord:
    return _full(r).as_record()
