"""What the discount guard does about a bad discount: record the incident, pause the discount once, open its case once.

The pause is a ``deactivate_discount`` outbox action written in the detector's transaction, sent by the
outbox like any other effect; the ``pricing`` case carries the money at risk so far. Later bad orders add
to the incident, never a second pause or case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from opsdesk.domain.discounts import DiscountIncident, DiscountRecord, Violation
from opsdesk.domain.outbox import action_id, idempotency_key
from opsdesk.domain.records import AuditEntry, CaseRecord, OutboxAction
from opsdesk.ports import UnitOfWork
from opsdesk.services.cases import CaseHooks, open_case
from opsdesk.services.discount_incidents import code_audit_subject, current_incident

PLAYBOOK = "discount-guard"


def recorded_incident(
    uow: UnitOfWork,
    iid: str,
    shop: str,
    record: DiscountRecord | None,
    name: str,
    kind: str,
    now: datetime,
) -> DiscountIncident:
    """The subject's incident as recorded so far, or a new one; it learns the discount's id once known."""
    iid, found = current_incident(uow, iid)
    if found is not None:
        return replace(found, discount_gid=found.discount_gid or (record.gid if record else ""))
    return DiscountIncident(iid, shop, record.gid if record else "", name, kind, detected_at=now)


@dataclass(frozen=True)
class DiscountResponse:
    pause_on: frozenset[Violation]
    hooks_provider: Callable[[], CaseHooks]
    owner: str
    queue: str
    priority: str

    def act(
        self,
        uow: UnitOfWork,
        incident: DiscountIncident,
        found: set[Violation],
        record: DiscountRecord | None,
        now: datetime,
        note: str = "",
        *,
        code: str = "",
    ) -> None:
        """Pause the discount if the policy allows it and it is not paused yet; open the case once.

        A discount not known by its id is paused by ``code``, the code the orders redeemed it with, when
        there is one: the connector looks the discount up by it (an automatic discount has none)."""
        known = record is not None and record.status.upper() not in ("EXPIRED", "DELETED")
        if (
            incident.pause_action_id is None
            and (known or (record is None and code))
            and found & self.pause_on
        ):
            incident = replace(incident, pause_action_id=self._pause(uow, incident, record, now, code))
        if incident.case_id is None:
            paused = (
                ("paused" if record is not None else f"paused by its code {code}")
                if incident.pause_action_id
                else "not paused: the discount is not known yet"
                if record is None
                else "not paused (policy)"
            )
            why = note or ", ".join(sorted(v.value.replace("_", " ") for v in found))
            incident = replace(
                incident,
                case_id=self._case(
                    uow,
                    incident,
                    found,
                    f"{why}; {paused}",
                    now,
                    code,
                    _name(record) if record is not None else code or incident.title,
                ),
            )
        uow.discounts.put_incident(incident)

    def _pause(
        self,
        uow: UnitOfWork,
        incident: DiscountIncident,
        record: DiscountRecord | None,
        now: datetime,
        code: str = "",
    ) -> str:
        aid = action_id(incident.id, 0)
        payload = {
            "shop": incident.shop,
            "order_id": None,
            "discount_id": record.gid if record is not None else "",
            **({"code": code} if record is None else {"discount_name": _name(record)}),
            "incident": incident.id,
            "playbook_owner": self.owner,
        }
        uow.outbox.add_many(
            [
                OutboxAction(
                    aid,
                    incident.id,
                    incident.shop,
                    None,
                    "deactivate_discount",
                    "shopify",
                    payload,
                    idempotency_key(aid),
                    now,
                    now,
                )
            ]
        )
        uow.audit.record(
            [
                AuditEntry(
                    now,
                    PLAYBOOK,
                    "discount.pause",
                    f"discount:{record.gid}" if record is not None else code_audit_subject(code),
                    after={"incident": incident.id, "action": aid},
                )
            ]
        )
        return aid

    def _case(
        self,
        uow: UnitOfWork,
        incident: DiscountIncident,
        found: set[Violation],
        note: str,
        now: datetime,
        code: str = "",
        name: str = "",
    ) -> str:
        what = ", ".join(sorted(v.value.replace("_", " ") for v in found))
        money = f"{incident.money_at_risk:.2f} {incident.currency}".strip()
        record = CaseRecord(
            id=incident.id,
            shop=incident.shop,
            kind="discount",
            queue=self.queue,
            title=f"Discount {incident.title!r}: {what}",
            reason=f"{note}; money at risk so far {money}",
            opened_at=now,
            source=f"{PLAYBOOK}:{incident.id}",
            priority=self.priority,
            detail={
                "playbook": PLAYBOOK,
                "incident": incident.id,
                "discount_id": incident.discount_gid,
                "discount_name": name,
                **({"code": code} if code else {}),
                "violations": sorted(v.value for v in found),
                "money_at_risk": str(incident.money_at_risk),
                "currency": incident.currency,
                "bad_orders": list(incident.bad_orders),
                "pause_action": incident.pause_action_id,
            },
        )
        return open_case(uow, record, self.hooks_provider(), now).id


def _name(record: DiscountRecord) -> str:
    """How people know a discount: its first code, else its title, else its node id."""
    codes = record.terms.codes if record.terms is not None else ()
    return codes[0] if codes else record.title or record.gid
