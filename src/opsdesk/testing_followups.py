"""The in-memory repository of delayed-fulfilment progress, for ``opsdesk.testing``: it works on the in-memory
unit of work's ``followups`` dict, so it commits and rolls back with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from opsdesk.domain.records import FollowupProgress


class Tables(Protocol):
    followups: dict[tuple[str, int], FollowupProgress]
    followups_numbered: int  # the highest id ever given


class MemoryFollowups:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def find(self, shop: str, order_id: int) -> FollowupProgress | None:
        return self.t.followups.get((shop, order_id))

    def record(self, progress: FollowupProgress) -> None:
        key = (progress.shop, progress.order_id)
        known = self.t.followups.get(key)
        # Numbered as SQLite's AUTOINCREMENT numbers them: after every id ever given, never reused.
        number = known.id if known else self.t.followups_numbered + 1
        self.t.followups_numbered = max(number, self.t.followups_numbered)
        self.t.followups[key] = replace(progress, id=number, started_at=progress.started_at.astimezone(UTC),
                                        last_sent_at=progress.last_sent_at.astimezone(UTC))

    def page(self, after: int, limit: int) -> list[FollowupProgress]:
        return sorted((p for p in self.t.followups.values() if p.id > after), key=lambda p: p.id)[:limit]

    def remove(self, ids: Iterable[int], sent_before: datetime) -> int:
        wanted = set(ids)
        doomed = [k for k, p in self.t.followups.items() if p.id in wanted and p.last_sent_at < sent_before]
        for key in doomed:
            del self.t.followups[key]
        return len(doomed)
