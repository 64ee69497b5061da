"""Intake's CPU work for one delivery done ahead, in another process: checked, parsed and normalised.

Verifying a delivery (HMAC, headers, JSON) and normalising it into domain events are pure functions of
the delivery and the desk's settings for its shop; nothing in them reads the database or the clock. So a
process that sees the deliveries before the desk does (the simulated store's, ADR 0023) can do that work
on the machine's other core and hand the desk a verdict it would have reached itself, leaving the desk
to store, decide and write. ``Ahead`` holds what that needs of the settings for one shop and is pickled
to the other process; a delivery naming another shop is left to the desk (``check`` returns None). Given
storage's ``pack``, it also packs the body of a delivery the desk accepts as storage would (a pure function of
the body, ADR 0031): the desk stores that form instead of packing the body in its own thread.

The verdict travels as plain tuples (``Checked``), cheaper to pickle than the records; ``accepted`` turns
one back into the ``RawDelivery`` that ``verify`` would have returned at the desk's ``now``, without the
parsed body (its events come with it instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from opsdesk.domain.records import RawDelivery
from opsdesk.services.intake import Refused, header, lower_headers, verify
from opsdesk.services.pipeline_events import Outcome_, normalised

#: A delivery the desk accepts: shop, webhook id, topic, API version, event id, triggered at, known shop,
#: its normalised events (or why there are none) and its body packed for storage (None: not packed ahead);
#: or why the desk refuses it.
Accepted = tuple[str, str, str, str, str, datetime | None, bool, Outcome_, bytes | None]
Checked = Accepted | Refused
#: ``verify`` only stamps ``received_at`` with its ``now``: the desk sets the real one in ``accepted``.
_ANY_TIME = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Ahead:
    """The desk's intake settings for one shop, as ``verify`` reads them."""

    shop: str
    secrets: tuple[str, ...]
    known: bool
    max_bytes: int
    #: storage's packing of a body (a module-level function: it is pickled by name), or None
    pack: Callable[[bytes], bytes] | None = None

    def check(self, headers: Mapping[str, str], body: bytes) -> Checked | None:
        """The desk's verdict on a delivery, with its events; None if it names another shop."""
        lowered = lower_headers(headers)
        if header(lowered, "shop-domain").lower() != self.shop.lower():
            return None
        verdict = verify(
            lowered,
            body,
            secrets_for=self._secrets,
            is_known=self._known,
            max_bytes=self.max_bytes,
            now=_ANY_TIME,
        )
        if isinstance(verdict, Refused):
            return verdict
        d = verdict
        return (
            d.shop,
            d.webhook_id,
            d.topic,
            d.api_version,
            d.event_id,
            d.triggered_at,
            d.known_shop,
            normalised(d, d.payload),
            None if self.pack is None else self.pack(body),
        )

    def _secrets(self, shop: str) -> tuple[str, ...]:
        return self.secrets if shop == self.shop.lower() else ()

    def _known(self, shop: str) -> bool:
        return self.known and shop == self.shop.lower()


def accepted(checked: Accepted, body: bytes, now: datetime) -> tuple[RawDelivery, Outcome_]:
    """The delivery ``verify`` would have accepted at ``now`` (without the parsed body, with the packed one if
    it was packed ahead), and its events."""
    shop, webhook_id, topic, api_version, event_id, triggered_at, known, outcome, packed = checked
    raw = RawDelivery(
        shop=shop,
        webhook_id=webhook_id,
        topic=topic,
        body=body,
        received_at=now,
        api_version=api_version,
        event_id=event_id,
        triggered_at=triggered_at,
        known_shop=known,
        packed=packed,
    )
    return raw, outcome
