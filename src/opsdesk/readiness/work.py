"""Controls over the desk's work: owners of orders and cases, follow-ups, refunds, automation owners."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from opsdesk.domain.cases import Case
from opsdesk.domain.orders import PAID, OrderState
from opsdesk.domain.org import unrouted_escalations
from opsdesk.domain.outbox import ActionStatus
from opsdesk.domain.readiness import MAX_OFFENDERS, Control, Measurement, Offender
from opsdesk.domain.records import CaseFilter, OutboxAction
from opsdesk.organisation import unrouted_settings
from opsdesk.readiness.context import Context, ReadinessControl, fix

Thresholds = Mapping[str, float]


def _order(state: OrderState, detail: str = "") -> Offender:
    name = state.snapshot.name if state.snapshot else ""
    return Offender("order", f"{state.shop}/{state.order_id}", " ".join(filter(None, (name, detail))))


def _case(case: Case, detail: str = "") -> Offender:
    return Offender("case", case.id, detail or f"{case.queue}: {case.title}")


def order_owners(ctx: Context, th: Thresholds) -> Measurement:
    orders, first_orders = ctx.uow.readiness.unowned_orders(MAX_OFFENDERS)
    cases, first_cases = ctx.uow.readiness.unowned_cases(MAX_OFFENDERS)
    unknown, held = _held_by_strangers(ctx)
    defaults = _strange_defaults(ctx)
    offenders = (*defaults, *(_order(o) for o in first_orders), *(_case(c) for c in first_cases), *held)
    shops = f"; {len(defaults)} shops give their new orders to a name the desk does not know" if defaults else ""
    return Measurement(
        orders + cases + unknown + len(defaults) <= th["max_unowned"],
        f"{orders} open orders and {cases} active cases have no owner, {unknown} active cases are held by a name "
        f"the desk does not know{shops} (allowed: {th['max_unowned']:g})",
        {"unowned_open_orders": orders, "unowned_active_cases": cases, "unknown_owner_active_cases": unknown,
         "unknown_default_owner_shops": len(defaults)},
        offenders,
    )


def _strange_defaults(ctx: Context) -> list[Offender]:
    """Shops whose ``default_owner`` (the owner of each new order) is no person or team of the organisation: a
    typo there leaves every order of the shop with an owner nobody is told about."""
    return [
        Offender("shop", shop.domain,
                 f"default_owner {owner!r} is not known to the desk ({ctx.org.unknown_owner(owner)})")
        for shop in ctx.settings.file.shops
        if not ctx.org.knows_owner(owner := ctx.settings.file.order_owner(shop))
    ]


def _held_by_strangers(ctx: Context) -> tuple[int, list[Offender]]:
    """Active cases whose owner is no person or team of the organisation (one removed from ``people:`` while it held
    them, or taken before ADR 0047): nobody is told about them. How many, and the first ``MAX_OFFENDERS``."""
    strangers = {o: n for o, n in sorted(ctx.uow.readiness.case_owners().items()) if not ctx.org.knows_owner(o)}
    held: list[Offender] = []
    for owner in strangers:
        if len(held) >= MAX_OFFENDERS:
            break
        known = ctx.org.unknown_owner(owner)
        found = ctx.uow.cases.search(CaseFilter(owner=owner), MAX_OFFENDERS - len(held))
        held += [_case(c, f"held by {owner!r}, whom the desk does not know ({known}); {c.queue}: {c.title}")
                 for c in found]
    return sum(strangers.values()), held


def _followed_up(actions: list[OutboxAction], template: str) -> dict[tuple[str, int], datetime]:
    """The first delayed-fulfilment follow-up written about each order (emails through the outbox)."""
    first: dict[tuple[str, int], datetime] = {}
    for a in actions:
        if a.order_id is None or a.payload.get("template") != template:
            continue
        key = (a.shop, a.order_id)
        first[key] = min(first.get(key, a.created_at), a.created_at)
    return first


def delayed_follow_ups(ctx: Context, th: Thresholds) -> Measurement:
    settings = ctx.settings.file.monitors.delayed_fulfilment
    if not settings.enabled:
        return Measurement(False, "delayed-fulfilment follow-ups are turned off "
                                  "(monitors.delayed_fulfilment.enabled: false)", {"enabled": False})
    grace = timedelta(hours=th["follow_up_within_hours"])
    _, overdue = ctx.uow.readiness.overdue_orders(ctx.now, 100_000)
    due = [o for o in overdue if o.ship_by is not None and o.ship_by + grace <= ctx.now and o.payment_status in PAID]
    since = min((o.ship_by for o in due if o.ship_by), default=ctx.now)
    followed = _followed_up(ctx.uow.readiness.actions_of_kind("email", since), settings.template)
    late = [
        o for o in due
        if o.ship_by is not None and followed.get((o.shop, o.order_id), ctx.now + grace) > o.ship_by + grace
    ]
    share = 1.0 if not due else (len(due) - len(late)) / len(due)
    return Measurement(
        share >= th["min_share"],
        f"{len(due) - len(late)} of {len(due)} delayed orders were followed up within "
        f"{th['follow_up_within_hours']:g} h of their ship-by time ({share:.1%}; needed {th['min_share']:.0%})",
        {"enabled": True, "delayed_orders": len(due), "followed_up_in_time": len(due) - len(late),
         "share": round(share, 4)},
        tuple(_order(o, f"ship-by {o.ship_by:%Y-%m-%d %H:%M} UTC, no follow-up") for o in late),
    )


def _sent_at(action: OutboxAction) -> datetime | None:
    sent = [h["at"] for h in action.history if h.get("outcome") == "sent"]
    return datetime.fromisoformat(sent[-1]) if sent else None


def refunds_within(ctx: Context, th: Thresholds) -> Measurement:
    limit = timedelta(hours=th["max_hours"])
    since = ctx.now - timedelta(days=th["window_days"])
    cases = ctx.uow.readiness.cases_of_kind("refund", since)
    actions = ctx.uow.readiness.actions_of_kind("refund", since)
    # (opened, done or None, offender) for every refund request: cases for people, actions for rules.
    requests = [(c.opened_at, c.resolved_at if not c.status.active else None, _case(c)) for c in cases]
    requests += [
        (a.created_at, _sent_at(a) if a.status is ActionStatus.SENT else None,
         Offender("action", a.id, f"refund of order {a.order_id} ({a.status.value})"))
        for a in actions
    ]
    open_late = [o for opened, done, o in requests if done is None and ctx.now - opened > limit]
    judged = [(opened, done) for opened, done, _ in requests if done is not None or ctx.now - opened > limit]
    in_time = sum(1 for opened, done in judged if done is not None and done - opened <= limit)
    share = 1.0 if not judged else in_time / len(judged)
    ok = len(open_late) <= th["max_open_late"] and share >= th["min_share"]
    return Measurement(
        ok,
        f"{len(open_late)} refund requests open for more than {th['max_hours']:g} h "
        f"(allowed: {th['max_open_late']:g}); {in_time} of {len(judged)} handled within {th['max_hours']:g} h "
        f"over {th['window_days']:g} days ({share:.1%}; needed {th['min_share']:.0%})",
        {"open_late": len(open_late), "handled_in_time": in_time, "judged": len(judged), "share": round(share, 4)},
        tuple(open_late),
    )


def _known_owner(ctx: Context, owner: str) -> bool:
    if owner.startswith("team:"):
        return owner.removeprefix("team:") in ctx.org.teams
    return owner in ctx.org.people


def automations_owned(ctx: Context, th: Thresholds) -> Measurement:
    unowned = [
        Offender("playbook", p.name, f"owner {p.owner!r} is not a configured person or team:<name>")
        for p in ctx.playbooks
        if not _known_owner(ctx, p.owner)
    ]
    # A rule escalating to a queue with no team or SLA of its own (a typo): its cases would reach nobody in time.
    unrouted = [Offender("rule", where, why) for where, why in unrouted_escalations(ctx.org, ctx.playbooks)]
    settings = unrouted_settings(ctx.org, ctx.settings.file)
    unrouted += [Offender("setting", ".".join(keys), why) for keys, why in settings]
    _, cases = ctx.uow.readiness.unowned_cases(100_000)
    failures = [_case(c, f"automation failure without an owner: {c.title}") for c in cases
                if c.kind == "automation_failure"]
    total = len(unowned) + len(unrouted) + len(failures)
    return Measurement(
        total <= th["max_unowned"] and bool(ctx.playbooks),
        f"{len(unowned)} of {len(ctx.playbooks)} playbooks without a known owner, {len(unrouted)} rules or settings "
        f"escalating to a queue without its own team and SLA, {len(failures)} automation failures without an owner"
        + ("" if ctx.playbooks else "; no playbook is loaded"),
        {"playbooks": len(ctx.playbooks), "playbooks_without_owner": len(unowned),
         "rules_escalating_to_unknown_queues": len(unrouted), "unowned_automation_failures": len(failures)},
        (*unowned, *unrouted, *failures),
    )


CONTROLS: tuple[ReadinessControl, ...] = (
    Control(
        "order-owners", "Every order has a clear owner",
        "open orders and active cases without an owner", fix("order-owners"),
        {"max_unowned": 0}, order_owners,
    ),
    Control(
        "delayed-fulfilment-follow-ups", "Delayed fulfilment triggers follow-ups automatically",
        "share of paid orders past their ship-by time that got a follow-up in time",
        fix("delayed-fulfilment-follow-ups"),
        {"min_share": 0.99, "follow_up_within_hours": 24}, delayed_follow_ups,
    ),
    Control(
        "refunds-within-48h", "Refunds are processed within 48 hours",
        "refund requests (cases and automated refunds) open too long; share handled in time",
        fix("refunds-within-48h"),
        {"max_hours": 48, "max_open_late": 0, "min_share": 0.95, "window_days": 30}, refunds_within,
    ),
    Control(
        "automations-owned", "Every automation has an owner",
        "playbooks whose owner is not a configured person or team; rules escalating to a queue missing from "
        "queues: or without an SLA; automation failures without an owner",
        fix("automations-owned"), {"max_unowned": 0}, automations_owned,
    ),
)
