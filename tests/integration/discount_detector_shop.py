"""The shop the discount detectors' tests run: when it opens, what it sells, its leaked code and the leak guard."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.integration.discount_pickup_harness import LineSpec

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LINES = (LineSpec("TEE-BLK-M", Decimal("40.00")),)
LEAK = "gid://shopify/DiscountCodeNode/5501"
#: A leak shows at the eighth use in a window by a new account.
LEAK_GUARD = {"code_min_new_customers": 8, "code_new_share": 80, "window_minutes": 15}
