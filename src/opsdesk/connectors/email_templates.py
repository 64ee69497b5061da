"""The customer emails' templates, and what the connector writes into them itself from an action's payload.

``TEMPLATES`` are the messages the email connector (``connectors/email.py``) can send, by name; ``written`` gives the
fields of a template that the connector writes itself rather than taking them from the payload (a parcel's tracking,
ADR 0065 amended in session 15).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from opsdesk.domain.tracking import clean, safe_url


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    subject: Template
    body: Template
    #: For a template naming ``$tracking``: what the parcel's tracking page shows this customer.
    tracking_shows: str = ""

    def fields(self) -> set[str]:
        return set(self.subject.get_identifiers()) | set(self.body.get_identifiers())


def _template(subject: str, body: str, tracking_shows: str = "") -> EmailTemplate:
    return EmailTemplate(Template(subject), Template(body), tracking_shows)


#: The longest line of a sentence the connector writes (as the templates' own lines).
WIDTH = 96


TEMPLATES = {
    "refund_confirmation": _template(
        "Your refund for order $order_name",
        "Hello,\n\nWe have refunded $amount $currency for order $order_name. Depending on your bank, it can\n"
        "take 5 to 10 business days to appear on your statement.\n\nThank you for shopping with us.\n"),
    "return_in_hand": _template(
        "We have received your return for order $order_name",
        "Hello,\n\nYour return for order $order_name has arrived at our warehouse. We are checking it now\n"
        "and will let you know as soon as your refund is on its way.\n\nThank you for your patience.\n"),
    "follow_up_delayed": _template(
        "An update on your order $order_name",
        "Hello,\n\nYour order $order_name is taking longer than we promised, and we are sorry for the wait.\n"
        "We are on it and will write again as soon as it ships.\n\nThank you for your patience.\n"),
    "delayed_fulfilment": _template(
        "Your order $order_name is running late",
        "Hello,\n\nWe promised to send order $order_name ($items) by $ship_by, and it has not left us yet.\n"
        "We are sorry for the wait. It is being looked after, and we will write again as soon as it ships.\n\n"
        "Thank you for your patience.\n"),
    "carrier_delay_notice": _template(
        "Your order $order_name is delayed in transit",
        "Hello,\n\nThe carrier has told us that the parcel with your order $order_name is delayed on its way\n"
        "to you. We are keeping an eye on it and will step in if it does not move again soon; there is\n"
        "nothing you need to do.\n\n$tracking\n\nWe are sorry for the wait, and thank you for your patience.\n",
        "shows where your parcel is now"),
    "carrier_needs_buyer": _template(
        "The carrier needs something from you for order $order_name",
        "Hello,\n\nThe carrier delivering your order $order_name has told us it needs something from you before\n"
        "it can hand the parcel over (often a customs or import fee, or proof of identity).\n$tracking\n\n"
        "If anything is unclear, reply to this email and we will help.\n",
        "shows what the carrier needs and how to give it"),
    "return_label_in_hand": _template(
        "Your return label for order $order_name is on its way",
        "Hello,\n\nCreating the return label for order $order_name is taking longer than usual. A person on\n"
        "our team is on it and will send you the label shortly; there is nothing you need to do.\n\n"
        "Thank you for your patience.\n"),
    "address_confirm": _template(
        "Please confirm the delivery address for order $order_name",
        "Hello,\n\nThe carrier could not confirm the delivery address of order $order_name:\n\n  $address\n\n"
        "We are holding the order so it does not go astray. Please reply with the correct address, or\n"
        "update it from your order page, and we will send it on its way.\n"),
    "generic": _template(
        "About your order $order_name",
        "Hello,\n\n$message\n"),
    # For the people on the desk (digests of warnings and assignments), not for customers.
    "desk_digest": _template("$subject", "$message\n"),
}


def written(template: EmailTemplate, payload: Mapping[str, Any]) -> dict[str, str]:
    """The fields the connector writes itself from the payload's, for the templates that name them: ``tracking``,
    where the customer sees what the carrier says of their parcel (never a payload's own ``tracking``)."""
    return {"tracking": tracking_text(payload, template.tracking_shows)} if "tracking" in template.fields() else {}


def tracking_text(payload: Mapping[str, Any], shows: str) -> str:
    """Where to see the carrier's word on the parcel, and what it ``shows``: its tracking page (an http(s) link only,
    checked again here), else the shipping confirmation's link with the carrier and number, else that link alone."""
    carrier = clean(str(payload.get("carrier") or ""))
    number = clean(str(payload.get("tracking_number") or ""))
    url = safe_url(str(payload.get("tracking_url") or ""))
    page = f"The {carrier} tracking page" if carrier else "The carrier's tracking page"
    parcel = f" for parcel {number}" if number else ""
    if url:
        return f"{page}{parcel} {shows}:\n\n  {url}"
    known = f" ({carrier + ' ' if carrier else ''}tracking number {number})" if number else ""
    return textwrap.fill(f"The tracking link in your shipping confirmation email {shows}{known}.", WIDTH,
                         break_long_words=False, break_on_hyphens=False)
