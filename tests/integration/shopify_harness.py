"""The local fake Admin API and a connector to it, over real sockets and in memory (ADR 0018).

Every test that takes ``fake`` runs twice, once over each wire: the two must give the same outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsdesk.connectors.shopify import ShopifyAdmin
from opsdesk.fakes.shopify_admin import FakeShopifyAdmin
from tests.integration._servers import TOKEN

CLIENT_TIMEOUT = 0.3
CODE_DISCOUNT = "gid://shopify/DiscountCodeNode/501"
AUTOMATIC_DISCOUNT = "gid://shopify/DiscountAutomaticNode/502"


@pytest.fixture(params=["socket", "memory"])
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serving(fake: FakeShopifyAdmin, wire: str) -> FakeShopifyAdmin:
    return fake if wire == "memory" else fake.start()


def connect(fake: FakeShopifyAdmin, wire: str, token: str = TOKEN) -> ShopifyAdmin:
    """A connector to ``fake`` with ``token``, over the wire of the test."""
    transport = fake.transport() if wire == "memory" else None
    return ShopifyAdmin(fake.url_for, lambda shop: token, timeout=CLIENT_TIMEOUT, transport=transport)


@pytest.fixture
def fake(wire: str) -> Iterator[FakeShopifyAdmin]:
    server = serving(FakeShopifyAdmin(access_tokens={TOKEN}), wire)
    yield server
    server.stop()


@pytest.fixture
def strict(wire: str) -> Iterator[FakeShopifyAdmin]:
    """A fake that, as Shopify itself, ignores the Idempotency-Key header (only ``@idempotent`` counts)."""
    server = serving(FakeShopifyAdmin(header_idempotency=False), wire)
    yield server
    server.stop()


@pytest.fixture
def shopify(fake: FakeShopifyAdmin, wire: str) -> Iterator[ShopifyAdmin]:
    with connect(fake, wire) as connector:
        yield connector


def mutations(fake: FakeShopifyAdmin) -> list[str]:
    return [c.operation for c in fake.calls if c.operation not in ("order", "discountNode")]
