"""The repositories of the readiness controls' evidence and of privacy requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from opsdesk.domain.cases import Case
from opsdesk.domain.erasures import Erasure
from opsdesk.domain.orders import OrderState
from opsdesk.domain.privacy import PrivacySubject, StoredRow
from opsdesk.domain.readiness import PolicyReview, Probe
from opsdesk.domain.records import ApiToken, OutboxAction, StoredDelivery


class ReadinessRepository(Protocol):
    """What the readiness controls read from live data, and the evidence they record (reviews, probes)."""

    def unowned_orders(self, limit: int) -> tuple[int, list[OrderState]]:
        """Open orders (not cancelled, not fulfilled) without an owner: how many, and the first ``limit``."""

    def overdue_orders(self, now: datetime, limit: int) -> tuple[int, list[OrderState]]:
        """Open orders past their ship-by time and not fulfilled: how many, and the first ``limit``."""

    def unowned_cases(self, limit: int) -> tuple[int, list[Case]]:
        """Active cases without an owner: how many, and the first ``limit``."""

    def case_owners(self) -> dict[str, int]:
        """The owners of active cases, each with how many it holds (cases without an owner left out)."""

    def cases_of_kind(self, kind: str, opened_since: datetime) -> list[Case]:
        """Cases of ``kind`` still active (however old) or opened since ``opened_since``."""

    def actions_of_kind(self, kind: str, created_since: datetime) -> list[OutboxAction]: ...

    def deliveries(self, topics: Sequence[str], since: datetime, limit: int) -> list[StoredDelivery]:
        """Stored deliveries of these topics received since ``since``, newest first."""

    def count_deliveries(self, topics: Sequence[str], since: datetime) -> int: ...

    def credentials(self) -> list[ApiToken]:
        """API tokens not revoked."""

    def add_review(self, review: PolicyReview) -> None: ...

    def latest_review(self, playbook: str) -> PolicyReview | None: ...

    def add_probe(self, probe: Probe) -> None: ...

    def latest_probe(self, kind: str, shop: str) -> Probe | None: ...


class PrivacyRepository(Protocol):
    """Every stored field that may hold a customer's personal data (privacy requests, ADR 0016)."""

    def orders_of(self, shop: str, customer_id: int | None, email: str) -> set[int]:
        """The shop's orders of the customer with this id or this email."""

    def rows(self, subject: PrivacySubject, terms: Sequence[str]) -> list[StoredRow]:
        """Rows of the subject's orders and cases, and rows of the shop (or shop-less) mentioning a term."""

    def shop_audit(self, shop: str) -> list[StoredRow]:
        """The audit rows about a shop's cases and orders, or that name the shop."""

    def rewrite(self, row: StoredRow, values: Mapping[str, object]) -> None: ...

    def erase_shop(self, shop: str) -> dict[str, int]:
        """Delete every row of a shop (its recorded erasures too); how many rows went, by table."""

    def begin_erasure(self) -> None:
        """Wait until no transaction holds the erasures (``erasures_version(hold=True)``), then keep them
        waiting until this one ends: call it before reading what to erase, so that every delivery stored
        meanwhile is either read by the erasure or stored knowing of it."""

    def record_erasure(self, erasure: Erasure) -> None:
        """Record that a customer was erased (ids only): their later deliveries are erased on arrival."""

    def erasures(self) -> list[Erasure]:
        """Every erasure recorded, oldest first."""

    def erasures_version(self, *, hold: bool = False) -> int:
        """A number that changes whenever an erasure is recorded or a shop's are deleted. With ``hold``,
        no erasure begins (``begin_erasure``) until this transaction ends."""
