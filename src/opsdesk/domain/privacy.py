"""Privacy requests (Shopify's mandatory compliance topics): whose data, where it is, how it is erased.

A customer's personal data reaches opsdesk inside Shopify payloads and is copied from there into order
snapshots, decision inputs, emails, cases, timers and the audit log. Two rules find it again:

- *structure*: in a record that belongs to the customer (one of their orders, a payload about them),
  the values under personal keys (email, phone, names, address lines, IP and browser, notes) are
  personal wherever they sit;
- *values*: the personal values found that way (``Needles``) are searched for as text in every stored
  field, so a name copied into a case title or an email body is found too. Identifying values (email,
  phone, full name) are searched everywhere; weaker ones (a first name, a street, a city) only in the
  customer's own records, where they cannot be someone else's.

Erasing replaces personal values with ``REDACTED`` and keeps the business facts (ids, amounts,
statuses, dates, SKUs, country and province codes), so the desk's history still adds up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[redacted]"
#: Why an email to an erased customer stays unsent: its recipient was erased.
NOT_SENT = "not sent: the customer's data was erased (customers/redact)"

#: Personal wherever they appear in a record of the customer.
PERSONAL_KEYS = frozenset(
    {
        "email", "contact_email", "customer_email", "phone", "first_name", "last_name", "browser_ip",
        "client_details", "note", "note_attributes", "customer_note", "user_agent", "accept_language",
        "session_hash", "landing_site", "referring_site", "to", "reply_to", "recipient", "body", "text",
        "html", "subject", "customer_name",
    }
)
#: Containers of a person's address or identity: every key listed in ``ADDRESS_FIELDS`` in them is personal.
PERSON_CONTAINERS = frozenset(
    {"customer", "billing_address", "shipping_address", "default_address", "addresses", "destination"}
)
ADDRESS_FIELDS = frozenset(
    {
        "name", "address1", "address2", "street1", "street2", "city", "zip", "company", "latitude",
        "longitude", "phone", "email", "first_name", "last_name", "note", "tags",
    }
)
#: Where a value is identifying enough to be searched for in records that are not the customer's own.
_STRONG_KEYS = frozenset({"email", "contact_email", "customer_email", "phone"})
#: A parcel's tracking numbers and links (Shopify's keys, an email's fields, a case's ``parcels``): a carrier's
#: tracking page can show the recipient's town or name. The carrier's name is not among them and stays.
TRACKING_KEYS = frozenset({"tracking_number", "tracking_numbers", "tracking_url", "tracking_urls", "parcels"})
_NAME_PARTS = ("first_name", "last_name")
_MIN_WEAK = 3  # shorter values ("NY", "1") would erase unrelated text
_CUSTOMER_GID = "gid://shopify/Customer/"


@dataclass(frozen=True, slots=True)
class PrivacySubject:
    """Whose data a request is about: a customer of a shop (with their orders), or the whole shop."""

    shop: str
    customer_id: int | None = None
    email: str = ""
    phone: str = ""
    orders: frozenset[int] = frozenset()

    def link_tokens(self) -> list[str]:
        """Text that finds the customer's raw deliveries: order ids, customer id, email, phone."""
        tokens = [str(o) for o in sorted(self.orders)]
        if self.customer_id is not None:
            tokens.append(str(self.customer_id))
        return tokens + [v for v in (self.email, self.phone) if v]


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored row that may hold personal data: its table, primary key, text fields, and whether it is
    one of the customer's own records (by order, case or subject; deliveries are judged by the caller)."""

    table: str
    key: tuple[Any, ...]
    values: Mapping[str, str | None]
    linked: bool
    #: Columns read to decide, not personal (an action's status and lease).
    control: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Needles:
    """The customer's personal values: ``strong`` ones identify them anywhere, ``weak`` ones only in their records."""

    strong: set[str] = field(default_factory=set)
    weak: set[str] = field(default_factory=set)
    #: Tracking numbers and links, found as they are written (a long number is not a phone number).
    tracking: set[str] = field(default_factory=set)

    def add(self, key: str, value: object) -> None:
        if not isinstance(value, str) or len(value.strip()) < _MIN_WEAK or value == REDACTED:
            return
        text = value.strip()
        if key in _STRONG_KEYS or "@" in text or (key == "name" and " " in text):
            self.strong.add(text)
        else:
            self.weak.add(text)

    def add_tracking(self, values: Iterable[Any]) -> None:
        self.tracking.update(v.strip() for v in values
                             if isinstance(v, str) and len(v.strip()) >= _MIN_WEAK and v != REDACTED)

    def all(self) -> list[str]:
        return sorted(self.strong | self.weak | self.tracking)


class Scrubber:
    """Replaces the needles in text, case-insensitively; phone numbers in any punctuation."""

    def __init__(self, needles: Needles, *, linked: bool) -> None:
        words = needles.strong | (needles.weak | needles.tracking if linked else set())
        parts = [_pattern(w, weak=w not in needles.strong, literal=w in needles.tracking)
                 for w in sorted(words, key=len, reverse=True)]
        self._regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def text(self, value: str) -> str:
        return value if self._regex is None else self._regex.sub(REDACTED, value)

    def found(self, value: str) -> bool:
        return self._regex is not None and self._regex.search(value) is not None

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.json(v) for k, v in value.items()}
        return value


def _pattern(word: str, *, weak: bool, literal: bool = False) -> str:
    digits = re.sub(r"\D", "", word)
    if not literal and len(digits) >= 7 and len(digits) >= len(re.sub(r"[\s\-+().]", "", word)):  # a phone number
        return r"\+?" + r"[\s\-.()]*".join(digits[-10:])
    escaped = re.escape(word)
    return rf"(?<!\w){escaped}(?!\w)" if weak else escaped


def gather(value: Any, needles: Needles, *, person: bool = False) -> None:
    """Collect the personal values of a record that belongs to the customer."""
    if isinstance(value, list):
        for item in value:
            gather(item, needles, person=person)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in PERSONAL_KEYS or (person and key in ADDRESS_FIELDS):
            _collect(key, item, needles)
        gather(item, needles, person=person or key in PERSON_CONTAINERS)
    if person and all(isinstance(value.get(k), str) and value.get(k) for k in _NAME_PARTS):
        needles.strong.add(f"{value['first_name'].strip()} {value['last_name'].strip()}")


def gather_tracking(value: Any, needles: Needles) -> None:
    """Collect the tracking numbers and links of a record of the customer: under ``TRACKING_KEYS``, and in an order's
    kept tracking (``"tracking": {fulfilment: [carrier, [[number, link], ...], at]}``); never the carrier's name."""
    if isinstance(value, list):
        for item in value:
            gather_tracking(item, needles)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in TRACKING_KEYS:
            needles.add_tracking(_leaves(item))
        elif key == "tracking" and isinstance(item, dict):
            needles.add_tracking(leaf for kept in item.values() if isinstance(kept, list) and len(kept) > 1
                                 for leaf in _leaves(kept[1]))
        else:
            gather_tracking(item, needles)


def _collect(key: str, value: Any, needles: Needles) -> None:
    if isinstance(value, dict | list):
        for leaf in _leaves(value):
            needles.add(key, leaf)
    else:
        needles.add(key, value)


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def erase(value: Any, *, person: bool = False) -> Any:
    """A record of the customer with every value under a personal key replaced (ids and amounts kept)."""
    if isinstance(value, list):
        return [erase(v, person=person) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        key: _blank(item)
        if key in PERSONAL_KEYS or (person and key in ADDRESS_FIELDS)
        else erase(item, person=person or key in PERSON_CONTAINERS)
        for key, item in value.items()
    }


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        return REDACTED if value else value
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return None if isinstance(value, int | float) and not isinstance(value, bool) else value


def referenced(payload: Any) -> tuple[frozenset[int], frozenset[int]]:
    """The customers and orders a Shopify payload is about, by id: ``(customer ids, order ids)``.

    A payload names its customer as ``customer.id`` or ``customer_id``, or is the customer record itself;
    its order as ``order_id`` or ``order.id``, or is the order itself.
    """
    if not isinstance(payload, dict):
        return frozenset(), frozenset()
    customer, order = payload.get("customer"), payload.get("order")
    customers = [customer.get("id") if isinstance(customer, dict) else None, payload.get("customer_id")]
    orders = [payload.get("order_id"), order.get("id") if isinstance(order, dict) else None]
    if "line_items" in payload or "financial_status" in payload:  # an order itself
        orders.append(payload.get("id"))
    if str(payload.get("admin_graphql_api_id", "")).startswith(_CUSTOMER_GID):  # a customer itself
        customers.append(payload.get("id"))
    return _ids(customers), _ids(orders)


def _ids(values: Iterable[Any]) -> frozenset[int]:
    return frozenset(v for v in values if isinstance(v, int) and not isinstance(v, bool))


def refers_to(payload: Any, subject: PrivacySubject) -> bool:
    """Whether a Shopify payload is about the customer: one of their orders, their id or their email."""
    if not isinstance(payload, dict):
        return False
    customers, orders = referenced(payload)
    if orders & subject.orders or subject.customer_id in customers:
        return True
    emails = {str(payload.get(k) or "").lower() for k in ("email", "contact_email")}
    return bool(subject.email) and subject.email.lower() in emails


def erase_record(text: str) -> str:
    """A stored record of the customer's own (a raw delivery about them) as their erasure leaves it.

    The values under personal keys are erased, and then wherever else they appear in the record: what
    ``rewrite_text`` does to such a record when the customer is erased, with the needles it holds.
    """
    needles, record = Needles(), export_value(text)
    gather(record, needles)
    gather_tracking(record, needles)
    return rewrite_text(text, Scrubber(needles, linked=True), structured=True)


def rewrite_text(text: str, scrub: Scrubber, *, structured: bool) -> str:
    """A stored text field with the customer's data erased: parsed as JSON when it is JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return scrub.text(text)
    if not isinstance(value, dict | list):
        return scrub.text(text)
    cleaned = scrub.json(erase(value) if structured else value)
    return text if cleaned == value else json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)


def export_value(text: str | None) -> Any:
    """A stored field as the export shows it: parsed when it is JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def mentions(values: Collection[str], scrub: Scrubber) -> bool:
    return any(scrub.found(v) for v in values)
