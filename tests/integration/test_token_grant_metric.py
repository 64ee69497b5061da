"""``opsdesk_shopify_token_grants_total{outcome}`` (ADR 0036 and 0035): every client credentials grant the Shopify
connector asks, counted by how it ended, on ``serve``'s ``/metrics`` and on a worker's metrics port, against
the stand-in's token endpoint (``fakes/shopify_oauth``) over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from opsdesk import app as composition
from opsdesk.background import Background
from opsdesk.config import load_settings
from opsdesk.desk import Desk
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.shopify_oauth import Grant
from opsdesk.storage.sql import SqlDatabase
from opsdesk.web.metrics_port import MetricsPort
from tests.integration._servers import outbox_action, refund_action
from tests.integration.metrics_harness import config_on_disk, metrics_url, scrape_serve, series, start, stop
from tests.samples import SECRET, SHOP

CLIENT_ID_ENV, CLIENT_ID = "OPSDESK_TEST_CLIENT_ID", "0f1e2d3c4b5a"
NONE_YET = {"granted": 0.0, "refused": 0.0, "failed": 0.0}


def grants(text: str) -> dict[str, float]:
    """The grant counter's series of a scrape, by outcome."""
    return series(text, "opsdesk_shopify_token_grants", "outcome")


def sent(text: str) -> float:
    return series(text, "opsdesk_outbox_actions", "outcome")["sent"]


@pytest.fixture
def grant_shop(tmp_path: Path) -> Iterator[tuple[Path, SqlDatabase, FakeShopifyAdmin]]:
    """A shop whose app gets its tokens by the grant, registered at the stand-in with the webhook secret."""
    with config_on_disk(tmp_path, client_id_env=CLIENT_ID_ENV) as (directory, db, shopify):
        shopify.oauth.add_client(CLIENT_ID, SECRET)
        yield directory, db, shopify


def test_a_worker_counts_its_grant_and_serve_and_the_worker_export_every_outcome_from_zero(
    grant_shop: tuple[Path, SqlDatabase, FakeShopifyAdmin],
) -> None:
    directory, db, shopify = grant_shop
    assert grants(scrape_serve(directory, **{CLIENT_ID_ENV: CLIENT_ID})) == NONE_YET
    worker = start(directory, "worker", "--metrics-port", "0", token=None, **{CLIENT_ID_ENV: CLIENT_ID})
    try:
        url = metrics_url(worker)
        assert grants(httpx.get(url).text) == NONE_YET
        with db.unit_of_work() as uow:
            uow.outbox.add_many([refund_action(order_id, at=datetime.now(UTC)) for order_id in (11, 12, 13)])
            uow.commit()
        deadline = time.monotonic() + 30
        while sent(scrape := httpx.get(url).text) < 3:
            assert time.monotonic() < deadline, scrape
            time.sleep(0.1)
    finally:
        stop(worker)
    assert grants(scrape) == {**NONE_YET, "granted": 1.0}  # one token for the three refunds
    assert shopify.oauth.grants == [Grant(SHOP, CLIENT_ID, 200)]


@pytest.fixture
def desk(
    grant_shop: tuple[Path, SqlDatabase, FakeShopifyAdmin], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    """A desk of the composition root with its own connectors: the Shopify one asks the stand-in for tokens."""
    directory, _, _ = grant_shop
    monkeypatch.setenv(CLIENT_ID_ENV, CLIENT_ID)
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    desk = composition.build(
        load_settings(str(directory / "opsdesk.yaml"), f"sqlite:///{directory}/opsdesk.db")
    )
    yield desk
    desk.db.dispose()  # type: ignore[attr-defined]  # the SQL database of the composition root


def test_each_grant_asked_is_counted_by_how_it_ended_and_a_refusal_remembered_is_not(
    desk: Desk, grant_shop: tuple[Path, SqlDatabase, FakeShopifyAdmin]
) -> None:
    _, _, shopify = grant_shop
    connector = desk.connectors["shopify"]
    tags = [
        outbox_action("add_tags", 1000 + n, {"tags": ["vip"]}, decision=f"decision-{n}") for n in range(4)
    ]
    shopify.oauth.down = True
    assert isinstance(connector.send(tags[0]), RetryLater)  # the token endpoint answers 503: failed
    shopify.oauth.down = False
    assert isinstance(connector.send(tags[1]), Delivered)  # granted
    shopify.oauth.add_client(
        CLIENT_ID, "shpss_a-rotated-secret"
    )  # the app's secret changed in the Dev Dashboard
    shopify.oauth.revoke()  # and the token with it: the Admin API answers 401, the connector asks again
    assert isinstance(connector.send(tags[2]), Rejected)  # refused
    assert isinstance(connector.send(tags[3]), Rejected)  # the refusal remembered: no grant asked
    with MetricsPort(desk, Background(desk), "127.0.0.1", 0) as port:
        assert grants(httpx.get(port.url).text) == {"granted": 1.0, "refused": 1.0, "failed": 1.0}
    assert [g.status for g in shopify.oauth.grants] == [503, 200, 400]
