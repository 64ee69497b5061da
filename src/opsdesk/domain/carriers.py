"""Carrier label API errors: which are worth a retry, which need another carrier, which need the customer.

The codes are Shopify's ``ShippingLabelPurchaseErrorCode`` and EasyPost's address errors (see
design/shopify-webhooks.md). Transient ones are retried with backoff by the outbox; permanent ones move
the label to the fallback carrier, then to a person; an address the carrier rejects goes to the customer.
A rejection's reason is written ``carrier <name> <CODE>: <message>`` so the outcome can be read back.
"""

from __future__ import annotations

import enum
import re

RETURN_LABEL = "return_label"
VERIFY_ADDRESS = "verify_address"
#: The outbox provider of every carrier action (the connector picks the carrier from the payload).
PROVIDER = "carrier"


class Failure(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    ADDRESS = "address"


TRANSIENT_CODES = frozenset(
    {"CARRIER_NOT_AVAILABLE", "CONNECTION_ERROR", "JOB_NOT_ENQUEUED", "PURCHASE_IN_PROGRESS", "TRANSIENT_ERROR",
     "RATE_LIMITED", "SERVICE_UNAVAILABLE", "TIMEOUT"}
)
ADDRESS_CODES = frozenset(
    {"ADDRESS.VERIFY.FAILURE", "E.ADDRESS.NOT_FOUND", "E.HOUSE_NUMBER.MISSING", "E.ADDRESS.INVALID",
     "E.SECONDARY_INFORMATION.MISSING", "INVALID_ADDRESS"}
)
_REASON = re.compile(r"^carrier (?P<carrier>\S+) (?P<code>[A-Z0-9_.]+): ")


def classify(code: str) -> Failure:
    """How to handle an error code; an unknown code is permanent (retrying blindly helps nobody)."""
    if code in TRANSIENT_CODES:
        return Failure.TRANSIENT
    if code in ADDRESS_CODES:
        return Failure.ADDRESS
    return Failure.PERMANENT


def reason(carrier: str, code: str, message: str) -> str:
    return f"carrier {carrier} {code}: {message}"


def code_of(text: str) -> str:
    """The error code in a rejection reason written by ``reason``; empty when there is none."""
    match = _REASON.match(text)
    return match.group("code") if match else ""
