"""A sub-resource's status with the time Shopify (or the carrier) stamped it: what the order fold keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Versioned:
    """A sub-resource's status and the time Shopify stamped it."""

    status: str
    at: datetime
    amount: Decimal = Decimal(0)
