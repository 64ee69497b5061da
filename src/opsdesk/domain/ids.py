"""Ids made from names, fitted to the columns that hold them.

Many ids are readable names such as ``stuck-<shop>-<order>-<since>``. A shop's domain is
``<handle>.myshopify.com``, and a handle may be as long as a DNS label (63 characters): the name then
outgrows its column, and PostgreSQL refuses the row (SQLite does not check lengths, so only PostgreSQL
shows it). ``fit_id`` keeps every name that fits as it is, so that stored rows and the idempotency keys
of actions in flight stay what they were, and shortens only the ones that would not fit.
"""

from __future__ import annotations

import hashlib

#: The id columns of decisions, outbox actions (``id``, ``decision_id``) and cases.
ID_LENGTH = 64
#: Timer ids and subjects, discount incident ids, a case's ``source``.
LONG_ID_LENGTH = 128
#: Delivery ids (``webhook_id``, ``event_id``) and audit subjects.
KEY_LENGTH = 255
#: Guardrail usage counters' keys (``guardrail_usage.key``).
USAGE_KEY_LENGTH = 400
#: A digest of 16 bytes, in hex.
_DIGEST = 32


def fit_id(name: str, sep: str = ":", length: int = ID_LENGTH) -> str:
    """``name`` (``<kind><sep><shop><sep>...``) as an id its column (``length``) holds: itself when it fits,
    else its kind and a digest of the whole name. The same name always gives the same id."""
    if len(name) <= length:
        return name
    kind = name.split(sep, 1)[0][: length - _DIGEST - len(sep)]
    return f"{kind}{sep}{hashlib.blake2b(name.encode(), digest_size=_DIGEST // 2).hexdigest()}"
