"""The composition root: the one place that wires concrete adapters into the core."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsdesk import yamldoc
from opsdesk.app_connectors import desk_connectors, probe_page
from opsdesk.clock import ResumedClock, SystemClock
from opsdesk.config import Settings
from opsdesk.config_discounts_pickups import build_guard_policy, build_warehouses
from opsdesk.desk import Desk
from opsdesk.domain.errors import InvalidInput
from opsdesk.domain.org import Org
from opsdesk.domain.policies import Playbook
from opsdesk.engine.timers import Handler as TimerHandler
from opsdesk.metrics import BacklogGauge, Metrics
from opsdesk.organisation import build_org
from opsdesk.policy import loader
from opsdesk.ports import Clock, Connector
from opsdesk.readiness.evidence import Fetch
from opsdesk.services.assignment import make_on_changed, make_owner_for, order_owner
from opsdesk.services.assignment import timer_handlers as assignment_timer_handlers
from opsdesk.services.cases import CaseHooks
from opsdesk.services.deadlines import make_timer_handlers
from opsdesk.services.discount_retention import DiscountWindowRetention
from opsdesk.services.discounts import DiscountGuard
from opsdesk.services.email_guard import email_lapsed
from opsdesk.services.followup_retention import FollowupRetention
from opsdesk.services.fulfilment_playbooks import fulfilment_playbooks
from opsdesk.services.monitors import chain
from opsdesk.services.notify import Notifier
from opsdesk.services.order_playbooks import OrderPlaybooks
from opsdesk.services.pickups import PickupWatch
from opsdesk.services.pipeline import Pipeline
from opsdesk.services.pipeline_batch import ShopDefaults
from opsdesk.services.privacy import PrivacyRequests, export_name
from opsdesk.services.refund_guard import refund_guard
from opsdesk.services.shop_credentials import UninstallWatch
from opsdesk.services.sla import make_sla_hooks
from opsdesk.services.usage_retention import DeliveryRetention, TimerRetention, UsageRetention, longest_window
from opsdesk.storage.schema import migrate
from opsdesk.storage.sql import SqlDatabase, create_sql_engine, ensure_reachable


def default_connectors(settings: Settings, metrics: Metrics | None = None) -> dict[str, Connector]:
    """The connectors ``settings`` describe, all made now (a desk built makes those over HTTP when first used); the
    Shopify token grants counted in ``metrics`` when given."""
    return dict(desk_connectors(settings, metrics))


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    connectors: Mapping[str, Connector] | None = None,
    playbooks: list[Playbook] | None = None,
    create_schema: bool = True,
    page_probe: Fetch | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Desk:
    """Wire a desk from settings; the playbooks are checked and a failing set is never loaded.
    ``page_probe`` fetches the shops' pages for the readiness probes (default: over HTTP); ``sleep`` is what the
    desk's waits outside the worker wait with (``opsdesk reconcile``'s: a test's moves its clock)."""
    engine = create_sql_engine(
        settings.database_url,
        sqlite_synchronous=settings.file.sqlite_synchronous,
        sqlite_busy_timeout_ms=settings.file.sqlite_busy_timeout_ms,
    )
    ensure_reachable(engine)
    if create_schema:
        migrate(engine)
    if playbooks is None:
        playbooks = loader.load([settings.playbooks_dir]) if settings.playbooks_dir.exists() else []

    def defaults(shop: str) -> ShopDefaults:
        shop_cfg = settings.shop(shop)
        if shop_cfg is None:
            return ShopDefaults(owner=f"team:{settings.file.ownership.default_team}")
        handling = timedelta(hours=shop_cfg.handling_hours)
        return ShopDefaults(owner=settings.file.order_owner(shop_cfg), handling=handling)

    metrics = Metrics()
    with yamldoc.located(settings.config_path):  # a name no section defines, at its line (ADR 0060, session 15)
        org = build_org(settings.file)
        hooks, handlers = desk_work(org)
        guard_policy = build_guard_policy(settings.file.discount_guard)
        guard, pickups = guardrails(settings, org, hooks)
        connectors = connectors if connectors is not None else desk_connectors(settings, metrics)
    order_side = order_playbooks(settings)
    fulfilment_side = fulfilment_playbooks(
        settings.file.monitors,
        settings.file.connectors.carrier,
        lambda: hooks,
        lambda shop: (cfg.timezone if (cfg := settings.shop(shop)) else "UTC"),
        (lambda state: (found[1].ship_by if (found := pickups.plan(state)) else None)) if pickups else None,
    )
    privacy = PrivacyRequests(export_files(settings.privacy_export_dir))
    retention = UsageRetention(longest_window(playbooks, fulfilment_side.windows))
    timer_retention = TimerRetention(retention.keep)  # one horizon for the housekeeping (ADR 0022)
    followup_retention = FollowupRetention(retention.keep)
    window_retention = DiscountWindowRetention(retention.keep, guard_policy)
    days = settings.file.retention.deliveries_days
    kept = DeliveryRetention(timedelta(days=days)) if days is not None else None  # ADR 0025
    outcome_hooks = dict(order_side.outcome_hooks(lambda: hooks))
    for kind, hook in fulfilment_side.outcome_hooks.items():
        outcome_hooks[kind] = chain(outcome_hooks[kind], hook) if kind in outcome_hooks else hook
    desk = Desk(
        settings=settings,
        db=SqlDatabase(
            engine, writer_wait=settings.file.sqlite_busy_timeout_ms / 1000, audit_keys=settings.audit_keys
        ),
        playbooks=playbooks,
        pipeline=Pipeline(
            playbooks,
            defaults,
            case_hooks=hooks,
            order_owner=(lambda default, facts: order_owner(org, default, facts))
            if org.order_rules
            else None,
            watchers=[*order_side.watchers(), *fulfilment_side.watchers,
                      *([guard.watch] if guard else []), *([pickups.watch] if pickups else []),
                      privacy.watch, UninstallWatch(settings.file.reconcile.outage.queue, hooks).watch],
            enrich_case=order_side.enrich_case,
        ),
        clock=clock or settings_clock(settings),
        metrics=metrics,
        connectors=connectors,
        org=org,
        case_hooks=hooks,
        timer_handlers={**handlers, **order_side.timer_handlers(), **fulfilment_side.timer_handlers,
                        **(pickups.timer_handlers() if pickups else {}), **privacy.timer_handlers(),
                        **retention.timer_handlers, **timer_retention.timer_handlers,
                        **followup_retention.timer_handlers, **window_retention.timer_handlers,
                        **(kept.timer_handlers if kept else {})},
        standing_timers=(retention.first, timer_retention.first, followup_retention.first, window_retention.first,
                         *((kept.first,) if kept else ())),
        discount_guard=guard,
        outcome_hooks=outcome_hooks,
        send_checks={"refund": refund_guard(playbooks)},  # ADR 0041
        send_lapses={"email": email_lapsed},  # ADR 0068
        page_probe=page_probe or probe_page,
        sleep=sleep,
    )
    # On every process's /metrics, serve's and a worker's port alike: the worker may be the only one scraped.
    desk.metrics.registry.register(BacklogGauge(desk.case_backlog))
    return desk


def settings_clock(settings: Settings) -> Clock:
    """The wall clock, or the simulated day's resumed clock a demo's ``opsdesk.yaml`` names (ADR 0043)."""
    resumed = settings.file.clock
    return ResumedClock(resumed.resume_at, resumed.since) if resumed is not None else SystemClock()


class ExportFiles:
    """Privacy exports as files under ``directory``, one folder per shop, readable by their owner only
    (they hold personal data); an erasure of the customer or the shop removes them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, name: str, data: bytes) -> str:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)  # a reader never sees half a file; a retry writes the same name again
        return str(path)

    def erase(self, shop: str, customer_id: int | None = None) -> int:
        folder = self.directory / shop
        if folder.parent != self.directory or shop in ("", ".", ".."):
            raise InvalidInput(f"not a shop's export folder: {shop!r}")
        if not folder.is_dir():
            return 0
        pattern = "*" if customer_id is None else export_name(shop, customer_id, "*").rpartition("/")[2]
        removed = 0
        for path in folder.glob(pattern):
            if path.is_file():
                path.unlink()
                removed += 1
        if customer_id is None:
            with contextlib.suppress(OSError):  # gone, or something not ours left in it: keep the folder
                folder.rmdir()
        return removed


def export_files(directory: Path) -> ExportFiles:
    """The export folder (``privacy.export_dir``)."""
    return ExportFiles(directory)


def order_playbooks(settings: Settings) -> OrderPlaybooks:
    """The monitors, timers and case details of the order-side default playbooks (ADR 0009)."""
    cfg = settings.file.order_playbooks
    return OrderPlaybooks(
        payment_pending=timedelta(minutes=cfg.payment_pending_minutes),
        oversold_max_orders=cfg.oversold_max_orders,
        wrong_item_repeat_after=cfg.wrong_item_repeat_after,
        slow_methods=frozenset(settings.file.monitors.stuck_orders.pending_by_gateway),  # casefolded there
        locations={w.location_id: w.name or wid for wid, w in settings.warehouses.items() if w.location_id is not None},
    )


def guardrails(settings: Settings, org: Org, hooks: CaseHooks) -> tuple[DiscountGuard | None, PickupWatch | None]:
    """The discount guardrails and the carrier pickup watch, as configured (ADR 0007)."""
    cfg = settings.file.discount_guard
    guard = DiscountGuard(build_guard_policy(cfg), lambda: hooks, cfg.owner, cfg.queue, cfg.priority) \
        if cfg.enabled else None
    warehouses = build_warehouses(settings.warehouses, datetime.now(UTC), people=frozenset(org.people))
    notifier = Notifier(org, template="desk_digest")
    return guard, (PickupWatch(warehouses, lambda: hooks, notifier.notify) if warehouses else None)


def desk_work(org: Org) -> tuple[CaseHooks, dict[str, TimerHandler]]:
    """The case hooks (owner, SLA, notifications) and the timer handlers, all from one organisation."""
    notifier = Notifier(org, template="desk_digest")
    sla_start, sla_update = make_sla_hooks(org)
    hooks = CaseHooks(
        owner_for=make_owner_for(org),
        sla_start=sla_start,
        sla_update=sla_update,
        on_changed=make_on_changed(org, notifier),
        tell=notifier.tell,
        unknown_owner=org.unknown_owner,
    )
    handlers = {
        **make_timer_handlers(org, lambda: hooks, tell=notifier.tell),
        **assignment_timer_handlers(org, lambda: hooks, notifier),
    }
    return hooks, handlers
