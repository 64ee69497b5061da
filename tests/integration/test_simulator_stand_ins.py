"""The simulator's stand-ins: the desk's own connectors, answered in memory, with the scenarios' faults."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsdesk.cli_simulate import stand_ins
from opsdesk.config import load_settings
from opsdesk.connectors.carrier import CarrierLabels
from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.domain.carriers import VERIFY_ADDRESS
from opsdesk.domain.outbox import Delivered, RetryLater, idempotency_key
from opsdesk.domain.records import OutboxAction
from tests.integration.desk_harness import write_config
from tests.samples import SECRET, SHOP

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADDRESS = {"name": "Ada", "street1": "1 Main St", "city": "Newark", "zip": "07101", "country": "US"}


def action(kind: str, provider: str, key: str, payload: dict[str, object]) -> OutboxAction:
    return OutboxAction(key, "d", SHOP, 7, kind, provider, payload, idempotency_key(key), AT, AT)


def test_the_stand_ins_answer_the_desks_connectors_in_memory_faults_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    settings = load_settings(str(write_config(tmp_path)), f"sqlite:///{tmp_path}/opsdesk.db")
    before = {t.name for t in threading.enumerate()}
    with contextlib.ExitStack() as stack:
        settings, faults, connectors = stand_ins(settings, stack)
        shopify, carrier = connectors["shopify"], connectors["carrier"]
        assert isinstance(shopify, ShopifyAdmin) and isinstance(carrier, CarrierLabels)
        # No server thread for Shopify or the carriers: their connectors do not go through a socket.
        started = {t.name for t in threading.enumerate()} - before
        assert not started & {"fake-shopify", "fake-carrier"}

        payment = shopify.send(action("check_payment", "shopify", "p1", {}))
        assert isinstance(payment, Delivered) and payment.response["financial_status"] == "PAID"

        primary = settings.file.connectors.carrier.primary
        verify = {"carrier": primary, "address": ADDRESS}
        assert isinstance(carrier.send(action(VERIFY_ADDRESS, "carrier", "v1", verify)), Delivered)
        faults["label_api_outage"](True, {})
        down = carrier.send(action(VERIFY_ADDRESS, "carrier", "v2", verify))
        assert isinstance(down, RetryLater) and "CARRIER_NOT_AVAILABLE" in down.reason
        faults["label_api_outage"](False, {})
        assert isinstance(carrier.send(action(VERIFY_ADDRESS, "carrier", "v3", verify)), Delivered)

        gid = "gid://shopify/DiscountCodeNode/77"
        faults["discount_misconfigured"](True, {"discount_gid": gid, "code": "OOPS", "percent": 90.0})
        assert shopify.discount_terms(SHOP, gid)["codes"] == ["OOPS"]


def test_the_served_stand_ins_stay_real_http_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `opsdesk serve --stand-ins` and the demo's serve phase: the connectors built from the settings reach
    # the Shopify stand-in over a socket, with no transport given.
    from opsdesk.app import default_connectors
    from opsdesk.cli import _with_stand_ins

    monkeypatch.setenv("OPSDESK_SHOPIFY_SECRET", SECRET)
    settings = load_settings(str(write_config(tmp_path)), f"sqlite:///{tmp_path}/opsdesk.db")
    with contextlib.ExitStack() as stack:
        fakes: dict[str, object] = {}
        settings = _with_stand_ins(settings, stack, fakes)
        assert (settings.file.connectors.shopify.base_url or "").startswith("http://127.0.0.1:")
        shopify = default_connectors(settings)["shopify"]
        assert isinstance(shopify, ShopifyAdmin)
        with shopify:
            assert isinstance(shopify.send(action("check_payment", "shopify", "p2", {})), Delivered)
        assert any(t.name == "fake-shopify" for t in threading.enumerate())
