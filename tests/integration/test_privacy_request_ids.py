"""A privacy request's timer id names its shop: two shops' requests made at the same instant are two requests.

Before, the id was ``privacy:<event key>``, and a ``shop/redact`` key names no shop: the second shop's request
replaced the first's timer. Requests recorded under that id and still pending are carried out as they are.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from opsdesk.app import export_files
from opsdesk.domain.events import ComplianceKind, ComplianceRequested, ShopDomain
from opsdesk.engine.timers import TimerSweeper
from opsdesk.services.privacy import PrivacyRequests, request_timer
from opsdesk.storage.sql import SqlDatabase
from opsdesk.testing import ManualClock

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SHOPS = ("first-shop.myshopify.com", "second-shop.myshopify.com")


def shop_redact(shop: str) -> ComplianceRequested:
    return ComplianceRequested(ShopDomain(shop), NOW, ComplianceKind.SHOP_REDACT, None, "", ())


def pending(db: SqlDatabase, shop: str) -> list[tuple[str, str]]:
    with db.unit_of_work(read_only=True) as uow:
        return [(timer.id, timer.payload["shop"]) for timer in uow.timers.pending(f"privacy:{shop}|shop")]


def test_two_shops_redacted_at_the_same_instant_are_two_requests(sql_db: SqlDatabase, tmp_path: Path) -> None:
    requests = PrivacyRequests(export_files(tmp_path))
    with sql_db.unit_of_work() as uow:
        requests.watch(uow, [shop_redact(shop) for shop in SHOPS], {}, NOW)
        uow.commit()

    key = shop_redact(SHOPS[0]).key
    assert [pending(sql_db, shop) for shop in SHOPS] == [[(f"privacy:{shop}:{key}", shop)] for shop in SHOPS]


def test_a_request_pending_under_its_former_id_is_not_recorded_twice_and_is_carried_out(
    sql_db: SqlDatabase, tmp_path: Path
) -> None:
    request = shop_redact(SHOPS[0])
    former = replace(request_timer(request, NOW), id=f"privacy:{request.key}")
    requests = PrivacyRequests(export_files(tmp_path))
    with sql_db.unit_of_work() as uow:
        uow.timers.schedule([former])
        uow.commit()
    with sql_db.unit_of_work() as uow:  # Shopify delivers the same request again
        requests.watch(uow, [request], {}, NOW)
        uow.commit()
    assert pending(sql_db, SHOPS[0]) == [(former.id, SHOPS[0])]

    sweeper = TimerSweeper(sql_db, requests.timer_handlers(), ManualClock(NOW), worker="w")
    assert sweeper.run_once() == 1
    assert (sweeper.stats.fired, pending(sql_db, SHOPS[0])) == (1, [])
