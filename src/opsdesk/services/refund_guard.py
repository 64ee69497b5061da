"""The last look at a refund before it goes to Shopify (ADR 0041): what was refunded, what froze refunds on the
order, and what ended its return, since it was decided.

A rule decides a refund on the order's state then; a person may refund the same return in Shopify admin before the
outbox sends it (the request came first, the refund's webhook between the decision and the send), and a chargeback
may come in between (ADR 0009: the card network is taking the money back already), or the merchant may decline the
return. The outbox asks ``refund_refused`` on the order's state now: a refund that would pay a return twice, or
more than the order has left to refund, one on an order whose refunds were frozen since it was decided, or one whose
return was declined, cancelled or closed since, or one the rule that decided it would not decide on the order as it
is now (``refund_rule``: a ``no-auto-refund`` tag since), is not sent; it fails with the reason, and its case goes to
a person. "Since" is against the facts the action's decision recorded: what its decider knew, it decided on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from opsdesk.domain.events import OrderId, ReturnChange, ReturnChanged, ReturnLine, ShopDomain
from opsdesk.domain.freezes import claim_freeze, dispute_freeze, dispute_named
from opsdesk.domain.orders import DISPUTE_WON, RETURN_OVER, OrderState
from opsdesk.domain.policies import Playbook
from opsdesk.domain.records import DecisionRecord, OutboxAction
from opsdesk.domain.refunds import refund_naming, refunded_quantities
from opsdesk.ports import UnitOfWork
from opsdesk.services.facts import amount_unknown, return_amount
from opsdesk.services.refund_rule import rule_refused


def refund_lines(event: object) -> dict[str, Any]:
    """What a refund action's payload keeps of its return's lines (line item, quantity, price as sent), so that
    the send can count again what is left of them to refund."""
    if not isinstance(event, ReturnChanged):
        return {}
    lines = [
        [line.line_item_id, line.quantity, None if line.price is None else str(line.price)]
        for line in event.lines
    ]
    return {"lines": lines}


def refund_guard(playbooks: Sequence[Playbook]) -> Callable[[UnitOfWork, OutboxAction], str]:
    """The outbox's check of a refund (``refund_refused``), its deciding rule asked again among ``playbooks``: the
    playbooks the desk has loaded, which the composition root gives."""
    loaded = tuple(playbooks)
    return lambda uow, action: refund_refused(uow, action, loaded)


def refund_refused(uow: UnitOfWork, action: OutboxAction, playbooks: Sequence[Playbook] = ()) -> str:
    """Why this refund may not be sent now ("" when it may), from the order's state; the rule that decided it is
    asked again (``refund_rule``) when it is one of ``playbooks``'."""
    order = action.order_id
    state = uow.orders.find(ShopDomain(action.shop), OrderId(order)) if order is not None else None
    if state is None:
        return ""
    decision = _decision(uow, action)
    decided = decision.inputs if decision is not None else {}
    stopped = _frozen_since(action, state, decided) or _return_over(action, state, decided)
    if stopped:
        return stopped
    amount = _decimal(action.payload.get("amount"))
    money = "" if amount is None else (
        _twice(action, state, amount) or (_beyond(state, amount) if action.attempts == 0 else ""))
    ruled = "" if money else rule_refused(uow, action, state, decision, playbooks)
    return money or (ruled + _earlier(action) if ruled else "")


def _decision(uow: UnitOfWork, action: OutboxAction) -> DecisionRecord | None:
    """The action's decision, with the facts it was made on as it recorded them (None when not found: nothing is
    taken as known to it, so what stops a refund now stops this one, for a person to decide)."""
    if action.order_id is None:
        return None
    found = (d for d in uow.decisions.for_order(action.shop, action.order_id) if d.id == action.decision_id)
    return next(found, None)


def _fact(decided: dict[str, Any], part: str, name: str) -> object:
    facts = decided.get(part)
    return facts.get(name) if isinstance(facts, dict) else None


def _frozen_since(action: OutboxAction, state: OrderState, decided: dict[str, Any]) -> str:
    """Refunds frozen on the order now (``order.refunds_frozen``: a dispute the merchant has not won, a damage claim,
    ADR 0009) by something that did not freeze them when the refund was decided (``order.frozen_by`` then). What
    froze them then was known to the refund's decider (a person's approval on the dispute's case, a rule written to
    refund regardless): it lets the refund go, and only that; a second dispute since, or the first one lost, stops
    it. A decision recorded before ``frozen_by`` says only whether the order was frozen: frozen then, it goes."""
    if not state.refunds_frozen:
        return ""
    then = _fact(decided, "order", "frozen_by")
    if not isinstance(then, list):
        if _fact(decided, "order", "refunds_frozen") is True:
            return ""
        then = []
    disputes = [dispute_named(state, dispute_id) for dispute_id, held in sorted(state.disputes.items())
                if held.status != DISPUTE_WON and dispute_freeze(dispute_id, held.status) not in then]
    claims = [claim for return_id in sorted(state.damage_claims) if (claim := claim_freeze(return_id)) not in then]
    if not disputes and not claims:
        return ""
    return (f"refunds are frozen on the order since this refund was decided: {', '.join(disputes + claims)}; "
            f"a refund now could pay the customer twice{_known(then)}{_earlier(action)}")


def _known(then: list[Any]) -> str:
    """What froze refunds when the refund was decided, for the person its case goes to."""
    return f" (it was decided knowing: {', '.join(map(str, then))})" if then else ""


def _return_over(action: OutboxAction, state: OrderState, decided: dict[str, Any]) -> str:
    """The refund's return declined, cancelled or closed in Shopify since the refund was decided (on its request's
    ``return_status`` then): the merchant said no, or the customer withdrew, and the goods may never come back."""
    return_id = action.payload.get("return_id")
    held = state.returns.get(return_id) if type(return_id) is int else None
    if held is None or held.status not in RETURN_OVER or _fact(decided, "event", "return_status") in RETURN_OVER:
        return ""
    return f"return {return_id} was {held.status} in Shopify since this refund was decided: its request is over" + (
        _earlier(action))


def _earlier(action: OutboxAction) -> str:
    """Asked on every attempt (the desk's own refund freezes nothing and closes no return; a retry whose first
    attempt never reached Shopify would pay): a retry says an earlier attempt may have reached it."""
    return " (an earlier attempt may have reached Shopify: check the order's refunds there)" if action.attempts else ""


def _twice(action: OutboxAction, state: OrderState, amount: Decimal) -> str:
    """The refund's return was refunded from its page, or fewer of its units are left to refund than it pays for."""
    return_id = action.payload.get("return_id")
    if type(return_id) is not int:
        return ""
    named = refund_naming(state, return_id)
    if named is not None:
        return f"return {return_id} was refunded in Shopify (refund {named}) after this refund was decided"
    lines = tuple(_line(item) for item in action.payload.get("lines") or [])
    event = ReturnChanged(
        state.shop, action.created_at, ReturnChange.REQUESTED, return_id, state.order_id, "", lines
    )
    left = return_amount(event, state) if lines else None
    if lines and left is None:
        why = amount_unknown(event, state)
        return f"what is left of return {return_id} to refund is not known since it was decided: {why}"
    if left == 0:
        return (f"the items of return {return_id} were refunded in Shopify after this refund was decided"
                f"{_aside(_named(state, _refunds_of(state, lines)))}")
    if left is not None and left < amount:
        refunded = refunded_quantities(state)
        if any(refunded.get(line.line_item_id or -1) for line in lines):
            return (f"only {left} of return {return_id} is left to refund: the rest was refunded since {amount} was "
                    f"decided{_aside(_named(state, _refunds_of(state, lines)))}")
        # Nothing of its units was refunded: the amount was decided otherwise (by list price, before ADR 0049).
        return (f"{amount} is more than return {return_id}'s units are worth ({left}: what the customer paid for "
                "them, ADR 0049); it was decided by another rule")
    return ""


def _beyond(state: OrderState, amount: Decimal) -> str:
    """More than the order has left to refund. Asked on the first attempt only: once an attempt may have reached
    Shopify, its refund may be in ``refunded`` already, and the retry, under the same idempotency key, makes none."""
    if state.snapshot is None:
        return ""
    remainder = state.snapshot.total.amount - state.refunded
    if amount <= remainder:
        return ""
    named = _named(state, sorted(state.refunds))
    return (f"{amount} is more than the {remainder} the order has left to refund ({state.refunded} refunded already"
            f"{': ' + named if named else ''})")


def _refunds_of(state: OrderState, lines: Sequence[ReturnLine]) -> list[int]:
    """The refunds that refunded units of these lines' line items, by id."""
    items = {line.line_item_id for line in lines}
    return sorted(refund for refund, made in state.refunded_for.items() if any(i in items for i, _ in made.lines))


def _named(state: OrderState, refunds: Sequence[int]) -> str:
    """The refunds a refusal is for, and the order's cancellation, which may have brought them (a cancel with a
    refund, ADR 0041, session 15): what the person the case goes to looks up in Shopify."""
    said = [f"refund{'s' if len(refunds) > 1 else ''} {', '.join(map(str, refunds))}"] if refunds else []
    if state.snapshot is not None and state.snapshot.cancelled_at is not None:
        said.append("the order was cancelled in Shopify")
    return "; ".join(said)


def _aside(said: str) -> str:
    return f" ({said})" if said else ""


def _line(item: list[Any]) -> ReturnLine:
    line_item, quantity, price = item
    return ReturnLine(line_item, int(quantity), "", "", _decimal(price))


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
