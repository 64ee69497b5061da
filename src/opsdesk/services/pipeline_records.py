"""What a batch writes for a decided event: its decision record, and for an automated or escalated one its
outbox actions and case; an event no playbook listens to gets a record saying so."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from opsdesk.domain.policies import Decision, Outcome
from opsdesk.domain.records import DecisionRecord
from opsdesk.services.effects import actions_for, case_for
from opsdesk.services.pipeline_batch import Batch, BatchReport, UsageLedger, batch_decision_id
from opsdesk.services.pipeline_events import Keyed
from opsdesk.services.tracking import facts_tracking

#: What an event no playbook listens to is recorded as (the playbook and rule id are reserved: domain.policies).
UNHEARD = Decision("-", "-", "none", Outcome.IGNORE, "no playbook listens to this event")


def record(
    did: str,
    delivery_id: int,
    keyed: Keyed,
    decision: Decision,
    facts: dict[str, Any],
    batch: Batch,
    ledger: UsageLedger,
    report: BatchReport,
    now: datetime,
) -> None:
    event = keyed[0]
    batch.decisions.append(_record(did, delivery_id, keyed, decision, dict(facts), now))
    report.decisions += 1
    if decision.outcome is Outcome.AUTOMATE:
        report.automated += 1
        ledger.consume(dict(decision.usage))
        actions = actions_for(did, decision, event, facts, now)
        batch.actions += actions
        report.actions += len(actions)
        if decision.case is not None:  # the rule acts and a person reviews (e.g. a hold)
            batch.cases.append(case_for(did, decision, event, decision.case, now, order_name=_name(facts),
                                        tracking=facts_tracking(facts.get("event") or {})))
            report.cases += 1
    elif decision.outcome is Outcome.ESCALATE and decision.escalation is not None:
        report.escalated += 1
        batch.cases.append(
            case_for(did, decision, event, decision.escalation, now, order_name=_name(facts), why=_why(facts),
                     tracking=facts_tracking(facts.get("event") or {}))
        )
        report.cases += 1


def record_unheard(delivery_id: int, keyed: Keyed, batch: Batch, report: BatchReport, now: datetime) -> None:
    event, key = keyed
    did = batch_decision_id(batch, event.shop, key, "-")
    if did in batch.seen:
        return
    batch.seen.add(did)
    batch.decisions.append(_record(did, delivery_id, keyed, UNHEARD, {}, now))
    report.decisions += 1


def _record(
    did: str, delivery_id: int, keyed: Keyed, decision: Decision, inputs: dict[str, Any], now: datetime
) -> DecisionRecord:
    """The decision record of ``decision`` for a delivery's event, as the order's history shows it."""
    event, key = keyed
    return DecisionRecord(
        id=did,
        shop=event.shop,
        delivery_id=delivery_id,
        order_id=event.order_id,
        event_name=event.name,
        event_key=key,
        playbook=decision.playbook,
        rule_id=decision.rule_id,
        policy_version=decision.version,
        outcome=decision.outcome.value,
        reason=decision.reason,
        inputs=inputs,
        decided_at=now,
    )


def _why(facts: Mapping[str, Any]) -> str:
    """Why the event's amount is not known, when the facts say (a return's request: ``facts.amount_unknown``)."""
    why = facts["event"].get("amount_unknown")
    return f"the amount to refund is not known: {why}" if isinstance(why, str) and why else ""


def _name(facts: Mapping[str, Any]) -> str:
    """The order's name (``#1205``) as the facts have it: from the stored order, or the event's own payload."""
    return str(facts["order"].get("name") or "")
