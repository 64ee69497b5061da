"""Controls over the store's set-up: inventory sync, shop pages, access, reviews, packaging, pickups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import orjson

from opsdesk.domain.access import Role
from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import FulfillmentChanged, ShopDomain, StoreEvent
from opsdesk.domain.readiness import Control, Measurement, Offender
from opsdesk.domain.records import StoredDelivery
from opsdesk.normalise.shopify import normalise
from opsdesk.readiness.context import Context, ReadinessControl, fix
from opsdesk.services import inventory, tokens

Thresholds = Mapping[str, float]
FULFILMENT_TOPICS = ("fulfillments/create", "fulfillments/update")
#: How many recent deliveries a control reads at most (the newest): readiness must stay cheap.
SCAN = 20_000


def _events(deliveries: Iterable[StoredDelivery]) -> Iterable[StoreEvent]:
    for stored in deliveries:
        d = stored.delivery
        try:
            found = normalise(d.topic, ShopDomain(d.shop), orjson.loads(d.body), d.triggered_at)
        except (InvalidPayload, orjson.JSONDecodeError):
            continue  # the pipeline reports unreadable deliveries; a control only counts what it can read
        if isinstance(found, tuple):
            yield from found


def inventory_synced(ctx: Context, th: Thresholds) -> Measurement:
    """Per configured shop, from the stock levels the pipeline keeps (``services.inventory``)."""
    shops = [shop.domain for shop in ctx.settings.file.shops]
    offenders: list[Offender] = []
    ages: dict[str, float | None] = {}
    negative = 0
    for shop in shops:
        fresh = inventory.freshness(ctx.uow, shop, ctx.now)
        ages[shop] = None if fresh.age is None else round(fresh.age.total_seconds() / 60, 1)
        if fresh.age is None:
            offenders.append(Offender("shop", shop, "no inventory level received (inventory_levels/update)"))
        elif fresh.age > timedelta(minutes=th["max_age_minutes"]):
            offenders.append(Offender("shop", shop, f"last inventory level {ages[shop]:g} min old"))
        negative += len(fresh.negative)
        offenders += [Offender("inventory_level", f"{shop}/{level.inventory_item_id}@{level.location_id}",
                               f"{level.sku or 'no SKU'}: available {level.available}") for level in fresh.negative]
    stale = sum(1 for o in offenders if o.kind == "shop")
    return Measurement(
        bool(shops) and stale == 0 and negative <= th["max_negative"],
        f"{len(shops) - stale} of {len(shops)} shops with inventory levels under {th['max_age_minutes']:g} min "
        f"old; {negative} levels below zero (allowed: {th['max_negative']:g})" + ("" if shops else "; no shop"),
        {"age_minutes": ages, "negative_levels": negative},
        tuple(offenders),
    )


def _page_probed(ctx: Context, th: Thresholds, kind: str, url_of: str, need_answer: bool) -> Measurement:
    shops = ctx.settings.file.shops
    max_age = timedelta(hours=th["max_probe_age_hours"])
    offenders: list[Offender] = []
    measured: dict[str, Any] = {}
    for shop in shops:
        url = getattr(shop, url_of)
        probe = ctx.uow.readiness.latest_probe(kind, shop.domain)
        if not url:
            offenders.append(Offender("shop", shop.domain, f"no {url_of} configured"))
        elif probe is None or probe.url != url or ctx.now - probe.at > max_age:
            offenders.append(Offender("shop", shop.domain, f"{url} not probed in {th['max_probe_age_hours']:g} h"))
        elif need_answer and not probe.answered:
            offenders.append(Offender("shop", shop.domain, f"{url} answered {probe.status_code or probe.error}"))
        if probe is not None:
            measured[shop.domain] = {"url": probe.url, "at": probe.at, "status": probe.status_code,
                                     "elapsed_ms": probe.elapsed_ms, "error": probe.error}
    reason = f"{len(shops) - len(offenders)} of {len(shops)} shops pass" + ("" if shops else ": no shop configured")
    return Measurement(bool(shops) and not offenders, reason, {"probes": measured}, tuple(offenders))


def returns_policy(ctx: Context, th: Thresholds) -> Measurement:
    return _page_probed(ctx, th, "returns_policy", "returns_policy_url", need_answer=True)


def site_speed(ctx: Context, th: Thresholds) -> Measurement:
    return _page_probed(ctx, th, "storefront", "storefront_url", need_answer=False)


def support_access(ctx: Context, th: Thresholds) -> Measurement:
    desk = sorted({m for team in ctx.org.teams.values() for m in team.members if m in ctx.org.people
                   and ctx.org.people[m].active})
    roles: dict[str, str] = {}
    for token in ctx.uow.readiness.credentials():
        if tokens.allows(token.role, "viewer"):  # the role the order API asks for
            roles.setdefault(token.name, token.role)
    for user in ctx.uow.users.list():  # dashboard accounts: a role in any shop reads its orders
        if not user.disabled and any(role >= Role.VIEWER for role in user.roles.values()):
            roles.setdefault(user.person_id or user.username, max(user.roles.values()).label)
    without = [Offender("person", p, "no API token or account with a role that reads orders")
               for p in desk if p not in roles]
    readers = [r for r in tokens.ROLES if tokens.allows(r, "viewer")]
    return Measurement(
        bool(desk) and len(without) <= th["max_without_access"] and "agent" in readers,
        f"{len(desk) - len(without)} of {len(desk)} people on the desk's teams can read orders "
        f"(roles that read orders: {', '.join(readers)})",
        {"people": len(desk), "without_access": len(without), "roles_reading_orders": readers},
        tuple(without),
    )


def fraud_rules_reviewed(ctx: Context, th: Thresholds) -> Measurement:
    name = ctx.settings.file.readiness.risk_playbook
    playbook = next((p for p in ctx.playbooks if p.name == name), None)
    if playbook is None:
        return Measurement(False, f"no playbook named {name!r} is loaded, so there are no fraud rules to review",
                           {"playbook": name}, (Offender("playbook", name, "missing"),))
    review = ctx.uow.readiness.latest_review(name)
    if review is None:
        return Measurement(False, f"playbook {name!r} has never been reviewed", {"playbook": name},
                           (Offender("playbook", name, "no recorded review"),))
    age = (ctx.now - review.reviewed_at).total_seconds() / 86400
    ok = age <= th["max_age_days"]
    return Measurement(
        ok,
        f"playbook {name!r} last reviewed by {review.reviewer} {age:.1f} days ago (allowed: {th['max_age_days']:g})",
        {"playbook": name, "reviewer": review.reviewer, "reviewed_at": review.reviewed_at,
         "age_days": round(age, 2), "reviewed_version": review.version, "current_version": playbook.version},
        () if ok else (Offender("playbook", name, f"last review {review.reviewed_at:%Y-%m-%d}"),),
    )


def packaging_stocked(ctx: Context, th: Thresholds) -> Measurement:
    materials = ctx.settings.file.readiness.packaging
    orders = ctx.uow.readiness.count_deliveries(("orders/create",), ctx.now - timedelta(days=30))
    per_day = orders / 30
    cover: dict[str, float | None] = {}
    for name, m in sorted(materials.items()):
        usage = m.daily_usage if m.daily_usage is not None else (m.per_order or 0) * per_day
        cover[name] = round(m.stock / usage, 1) if usage > 0 else None  # nothing used: never runs out
    short = [Offender("material", n, f"{days:g} days of cover") for n, days in cover.items()
             if days is not None and days < th["min_days_of_cover"]]
    return Measurement(
        bool(materials) and not short,
        f"{len(materials) - len(short)} of {len(materials)} packaging materials have "
        f"{th['min_days_of_cover']:g}+ days of cover (orders/day over 30 days: {per_day:.1f})"
        + ("" if materials else "; no packaging material is configured"),
        {"days_of_cover": cover, "orders_per_day": round(per_day, 2)},
        tuple(short),
    )


def pickups_documented(ctx: Context, th: Thresholds) -> Measurement:
    recent = ctx.uow.readiness.deliveries(FULFILMENT_TOPICS, ctx.now - timedelta(days=th["window_days"]), SCAN)
    pairs = sorted({(str(e.location_id or "-"), e.tracking_company or "-") for e in _events(recent)
                    if isinstance(e, FulfillmentChanged)})
    scheduled = _scheduled_pairs(ctx)
    missing = [Offender("pickup", f"{loc}/{carrier}", "no pickup schedule") for loc, carrier in pairs
               if (loc, carrier) not in scheduled]
    share = 1.0 if not pairs else (len(pairs) - len(missing)) / len(pairs)
    return Measurement(
        share >= th["min_share"],
        f"{len(pairs) - len(missing)} of {len(pairs)} (location, carrier) pairs used in "
        f"{th['window_days']:g} days have a pickup schedule ({share:.0%})",
        {"pairs_in_use": len(pairs), "with_schedule": len(pairs) - len(missing), "share": round(share, 4)},
        tuple(missing),
    )


def _scheduled_pairs(ctx: Context) -> set[tuple[str, str]]:
    """(location, carrier) pairs with pickup times in ``warehouses``; the default warehouse also stands for
    fulfilments that name no location ("-")."""
    pairs: set[tuple[str, str]] = set()
    for warehouse in ctx.settings.file.warehouses.values():
        locations = {str(warehouse.location_id)} if warehouse.location_id is not None else set()
        if warehouse.default:
            locations.add("-")
        for carrier, schedule in warehouse.carriers.items():
            if any(schedule.pickups.values()):
                pairs |= {(location, carrier) for location in locations}
    return pairs


CONTROLS: tuple[ReadinessControl, ...] = (
    Control(
        "inventory-synced", "Inventory is synced across channels",
        "age of the newest stock level per shop; levels below zero", fix("inventory-synced"),
        {"max_age_minutes": 15, "max_negative": 0}, inventory_synced,
    ),
    Control(
        "returns-policy-accessible", "Returns policy is clearly accessible",
        "each shop's returns policy URL configured and answering a probe in the last day",
        fix("returns-policy-accessible"), {"max_probe_age_hours": 24}, returns_policy,
    ),
    Control(
        "support-can-read-orders", "Support team has access to order status",
        "people on the desk's teams with an API token whose role reads orders", fix("support-can-read-orders"),
        {"max_without_access": 0}, support_access,
    ),
    Control(
        "fraud-rules-reviewed", "Fraud rules are reviewed weekly",
        "age of the last recorded review of the risk playbook", fix("fraud-rules-reviewed"),
        {"max_age_days": 7}, fraud_rules_reviewed,
    ),
    Control(
        "packaging-stocked", "Packaging materials are stocked for 30 days",
        "days of cover per material: stock / (daily usage, or per-order usage x orders per day)",
        fix("packaging-stocked"), {"min_days_of_cover": 30}, packaging_stocked,
    ),
    Control(
        "pickup-times-documented", "Carrier pickup times are documented",
        "(location, carrier) pairs seen in fulfilments that have a pickup schedule", fix("pickup-times-documented"),
        {"min_share": 1.0, "window_days": 30}, pickups_documented,
    ),
    Control(
        "site-speed-monitored", "Site speed is monitored daily",
        "a storefront probe result in the last 24 hours, per shop", fix("site-speed-monitored"),
        {"max_probe_age_hours": 24}, site_speed,
    ),
)
