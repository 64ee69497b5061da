"""The in-memory database's privacy repository: it says plainly that it has none.

Erasure and export work on stored rows and their JSON text (``storage/privacy.py``); the in-memory
tables keep domain records, not rows, so privacy requests are tested on SQLite and PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsdesk.domain.erasures import Erasure
from opsdesk.domain.privacy import PrivacySubject, StoredRow

_WHY = "privacy requests need a SQL database (SQLite or PostgreSQL); the in-memory one keeps no rows"


class MemoryPrivacy:
    def orders_of(self, shop: str, customer_id: int | None, email: str) -> set[int]:
        raise NotImplementedError(_WHY)

    def rows(self, subject: PrivacySubject, terms: Sequence[str]) -> list[StoredRow]:
        raise NotImplementedError(_WHY)

    def shop_audit(self, shop: str) -> list[StoredRow]:
        raise NotImplementedError(_WHY)

    def rewrite(self, row: StoredRow, values: Mapping[str, object]) -> None:
        raise NotImplementedError(_WHY)

    def erase_shop(self, shop: str) -> dict[str, int]:
        raise NotImplementedError(_WHY)

    def begin_erasure(self) -> None:
        raise NotImplementedError(_WHY)

    def record_erasure(self, erasure: Erasure) -> None:
        raise NotImplementedError(_WHY)

    def erasures(self) -> list[Erasure]:
        return []  # nothing can be erased here, so nothing arriving needs erasing

    def erasures_version(self, *, hold: bool = False) -> int:
        return 0
