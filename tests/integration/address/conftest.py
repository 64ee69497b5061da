"""The address tests' fixtures, in one place: the stand-ins the desk talks to (the carrier refusing the sample's
postal code, SMTP, the Shopify Admin API) and where the desk runs (a SQLite file, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsdesk.fakes.carrier import FakeCarrier
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from opsdesk.fakes.smtp import FakeSmtp
from tests.integration.address.harness import TOKEN, Desk
from tests.integration.fulfilment_harness import db_url_fixture

__all__ = ["carrier_fixture", "db_url_fixture", "desk_fixture", "shopify_fixture", "smtp_fixture"]


@pytest.fixture(name="carrier")
def carrier_fixture() -> Iterator[FakeCarrier]:
    with FakeCarrier() as fake:
        fake.reject_zip("40003")  # the postal code of the sample's shipping address
        yield fake


@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture(name="shopify")
def shopify_fixture() -> Iterator[FakeShopifyAdmin]:
    with FakeShopifyAdmin(access_tokens=[TOKEN]) as fake:
        yield fake


@pytest.fixture(name="desk")
def desk_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Desk:
    """Where the desk runs: its folder, the test's monkeypatch, its database's URL (each SQL backend in turn)."""
    return tmp_path, monkeypatch, db_url
