"""What a playbook may be called, and what the names it sets may hold: each is stored with every decision or case.

The rule ids and playbook names the desk records for its own decisions are reserved; a name longer than its
column, or one with a control character, is refused when the playbook is read, not when a decision is written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

#: The longest rule id and playbook name: what a decision record's ``rule_id`` and ``playbook`` hold.
NAME_LENGTH = 128
#: The longest queue and priority a rule's case has: what ``cases.queue`` and ``cases.priority`` hold.
QUEUE_LENGTH = 64
PRIORITY_LENGTH = 16
#: The longest playbook owner: a rule's failed action opens a case that they own (``cases.owner``).
OWNER_LENGTH = 255
#: The rule id of a playbook's decision when no rule matches.
FALLBACK_RULE = "default"
#: The rule id of a playbook's decision on an event delivered after what it announces was over (a return's
#: request after the return was declined): the event's facts say why (``event.superseded``), and no rule runs.
SUPERSEDED_RULE = "superseded"
#: The rule ids (and playbook names) the desk records for decisions no rule took: a playbook's own rule
#: (or a playbook) named the same would read as one of them in every stored decision.
RESERVED_RULE_IDS: Mapping[str, str] = {
    FALLBACK_RULE: "the rule id a decision records when no rule of its playbook matches",
    "none": "the rule id a decision records when no playbook listens to its event",
    SUPERSEDED_RULE: "the rule id a decision records for an event delivered after what it announces was over",
}
#: The desk's own playbooks: a person's resolution of a case and the monitors (services' ``PLAYBOOK``), by what
#: they record under their name. A playbook of a user's named the same would be mixed with one in decisions,
#: cases, backtests and guardrail usage.
DESK_PLAYBOOKS: Mapping[str, str] = {
    "desk": "the playbook a person's resolution of a case records",
    "stuck-order": "the desk's monitor of orders stuck in one state",
    "address-validation": "the desk's monitor of shipping addresses a carrier cannot verify",
    "return-labels": "the desk's monitor of return labels",
    "delayed-fulfilment": "the desk's monitor of orders late to ship",
    "carrier-pickup-cutoff": "the desk's monitor of orders not packed before the carrier's pickup",
    "discount-guard": "the desk's monitor of discounts",
    "buyer-action": "the desk's monitor of parcels the carrier holds for their buyer",
}
RESERVED_PLAYBOOKS: Mapping[str, str] = {
    "-": "the playbook a decision records when no playbook listens to its event",
    **{
        name: f"{what}; a playbook of yours named so would be mixed with it"
        for name, what in DESK_PLAYBOOKS.items()
    },
}


def name_problem(name: str, *, in_keys: bool) -> str:
    """Why a rule id (``in_keys``: it begins guardrail counters' keys) or a playbook name cannot be stored
    as a decision records it, or "" when it can.

    Longer than its column, PostgreSQL refuses the decision (SQLite stores it). A ``|`` in a rule id moves the
    scope out of its place in a counter's key, where ``window_started`` reads it: the usage retention sweep
    would never delete that rule's counters. A name the desk records for its own decisions would read as one
    of them."""
    problem = text_problem(name, NAME_LENGTH, "with each decision")
    if problem:
        return problem
    if in_keys and "|" in name:
        return "may not contain '|': it separates the parts of a guardrail counter's key"
    reserved = (RESERVED_RULE_IDS if in_keys else RESERVED_PLAYBOOKS).get(name)
    return f"may not be {name!r}: it is {reserved}" if reserved else ""


def text_problem(text: str, length: int | None, stored: str) -> str:
    """Why a name a playbook sets cannot be stored in a column of ``length`` characters (None: any), or "".

    A control character (NUL, which PostgreSQL refuses in text; a line break, which breaks a one-line
    listing) or a lone surrogate (not UTF-8: no database, JSON document or digest takes it) is not part of a
    name."""
    if length is not None and len(text) > length:
        return f"is {len(text)} characters long; at most {length} are stored {stored}"
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        return f"may not contain {bad!r}: a control character or a lone surrogate is not text"
    return ""
