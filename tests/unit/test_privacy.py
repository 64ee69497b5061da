"""The privacy rules (domain/privacy.py) and the audit chain's redaction vouchers (domain/audit.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from opsdesk.domain.audit import GENESIS, REDACTION_ACTION, ChainCheck, ChainedRow, content_digest, entry_hash
from opsdesk.domain.erasures import Erased, Erasure
from opsdesk.domain.privacy import (
    REDACTED,
    Needles,
    PrivacySubject,
    Scrubber,
    erase,
    erase_record,
    gather,
    referenced,
    refers_to,
    rewrite_text,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_erasing_a_shopify_order_keeps_ids_amounts_and_statuses() -> None:
    order = {
        "id": 5, "email": "a@example.org", "total_price": "19.99", "financial_status": "paid", "name": "#1001",
        "customer": {"id": 9, "first_name": "Ada", "default_address": {"address1": "1 Way", "country_code": "CA"}},
        "shipping_address": {"name": "Ada Byron", "zip": "K7A", "province_code": "ON", "latitude": 44.9},
        "line_items": [{"id": 7, "name": "Lens", "sku": "L-1", "price": "19.99"}],
    }
    assert erase(order) == {
        "id": 5, "email": REDACTED, "total_price": "19.99", "financial_status": "paid", "name": "#1001",
        "customer": {"id": 9, "first_name": REDACTED, "default_address": {"address1": REDACTED, "country_code": "CA"}},
        "shipping_address": {"name": REDACTED, "zip": REDACTED, "province_code": "ON", "latitude": None},
        "line_items": [{"id": 7, "name": "Lens", "sku": "L-1", "price": "19.99"}],
    }


def test_identifying_values_are_found_anywhere_weak_ones_only_in_the_customers_records() -> None:
    needles = Needles()
    gather({"customer": {"first_name": "Ada", "last_name": "Byron", "email": "Ada@Example.org",
                         "phone": "+1 613-555-0142"}}, needles)
    assert needles.strong == {"Ada Byron", "Ada@Example.org", "+1 613-555-0142"}
    assert needles.weak == {"Ada", "Byron"}
    anywhere, own = Scrubber(needles, linked=False), Scrubber(needles, linked=True)
    text = "Called ada byron (6135550142), mail ada@example.org; Adam says Ada left"
    assert anywhere.text(text) == f"Called {REDACTED} ({REDACTED}), mail {REDACTED}; Adam says Ada left"
    assert own.text(text) == f"Called {REDACTED} ({REDACTED}), mail {REDACTED}; Adam says {REDACTED} left"
    assert own.text("tel. 613.555.0142") == f"tel. {REDACTED}"


def test_stored_json_is_rewritten_as_json_and_text_as_text() -> None:
    needles = Needles(strong={"ada@example.org"})
    scrub = Scrubber(needles, linked=True)
    rewritten = rewrite_text('{"to":"ada@example.org","n":1}', scrub, structured=False)
    assert json.loads(rewritten) == {"to": REDACTED, "n": 1}
    assert rewrite_text("for ada@example.org", scrub, structured=False) == f"for {REDACTED}"
    assert rewrite_text('{"n":1}', scrub, structured=True) == '{"n":1}'  # unchanged text is kept byte for byte


def test_a_payload_is_the_customers_by_order_customer_id_or_email() -> None:
    who = PrivacySubject("s", customer_id=9, email="A@x.org", orders=frozenset({5}))
    assert refers_to({"order_id": 5}, who)
    assert refers_to({"order": {"id": 5}}, who)
    assert refers_to({"id": 5, "line_items": []}, who)
    assert refers_to({"customer": {"id": 9}}, who)
    assert refers_to({"email": "a@x.org"}, who)
    assert not refers_to({"id": 5}, who)  # a fulfilment's own id 5 is not order 5
    assert not refers_to({"order_id": 6, "email": "b@x.org"}, who)


def test_a_payload_is_the_customers_when_it_is_their_customer_record_or_names_their_id() -> None:
    who = PrivacySubject("s", customer_id=9)  # erased by id alone: no email to match
    assert refers_to({"id": 9, "admin_graphql_api_id": "gid://shopify/Customer/9", "first_name": "Ada"}, who)
    assert refers_to({"id": 3, "customer_id": 9}, who)  # e.g. a payment method or a subscription of theirs
    assert not refers_to({"id": 9, "admin_graphql_api_id": "gid://shopify/Product/9"}, who)


def test_the_ids_a_payload_names_are_its_customers_and_its_orders() -> None:
    order = {"id": 5, "financial_status": "paid", "customer": {"id": 9}}
    assert referenced(order) == (frozenset({9}), frozenset({5}))
    assert referenced({"id": 1, "order_id": 5, "email": "a@x.org"}) == (frozenset(), frozenset({5}))
    assert referenced({"id": 2, "order": {"id": 5}, "customer_id": True}) == (frozenset(), frozenset({5}))
    assert referenced(["not", "a", "record"]) == (frozenset(), frozenset())


def test_erased_customers_are_recognised_by_their_id_or_their_orders_in_their_own_shop_only() -> None:
    erased = Erased.of(7, [Erasure("s", 9, frozenset({5, 6}), AT), Erasure("t", 4, frozenset(), AT)])
    assert (erased.whose("s", {"customer": {"id": 9}}), erased.whose("s", {"order_id": 6})) == (9, 9)
    assert erased.whose("s", {"order_id": 8, "customer": {"id": 10}}) is None  # another customer
    assert erased.whose("t", {"order_id": 5}) is None  # order 5 of another shop
    assert (erased.covers("t"), erased.covers("u"), erased.version) == (True, False, 7)


def test_a_record_erased_on_arrival_is_what_the_erasure_leaves_of_it() -> None:
    order = {"id": 5, "note": "Leave it with Ada", "total_price": "9.50",
             "customer": {"id": 9, "first_name": "Ada", "last_name": "Byron", "email": "ada@x.org"},
             "shipping_lines": [{"title": "Ada Byron's usual"}]}
    erased = json.loads(erase_record(json.dumps(order)))
    assert erased == {"id": 5, "note": REDACTED, "total_price": "9.50",
                      "customer": {"id": 9, "first_name": REDACTED, "last_name": REDACTED, "email": REDACTED},
                      "shipping_lines": [{"title": f"{REDACTED}'s usual"}]}


def _chain(*contents: tuple[str, str | None]) -> list[ChainedRow]:
    rows, prev = [], GENESIS
    for i, (action, after) in enumerate(contents, start=1):
        digest = entry_hash(prev, AT, "alice", action, "case:1", None, after)
        rows.append(ChainedRow(i, AT, "alice", action, "case:1", None, after, prev, digest))
        prev = digest
    return rows


def _vouch(rows: list[ChainedRow], changed: ChainedRow) -> list[ChainedRow]:
    after = json.dumps({"rows": {str(changed.id): content_digest(changed)}})
    prev, n = rows[-1].hash, len(rows) + 1
    digest = entry_hash(prev, AT, "privacy", REDACTION_ACTION, "customer:s:9", None, after)
    return [*rows, ChainedRow(n, AT, "privacy", REDACTION_ACTION, "customer:s:9", None, after, prev, digest)]


def test_a_row_erased_and_vouched_for_passes_and_a_later_change_to_it_does_not() -> None:
    rows = _chain(("case.comment", '{"note":"Called Ada Byron"}'), ("case.claim", None))
    erased = replace(rows[0], after='{"note":"Called [redacted]"}')
    chain = _vouch([erased, rows[1]], erased)
    check = ChainCheck()
    assert (check.feed(chain), check.finish()) == (None, None)

    tampered = [replace(erased, after='{"note":"Called nobody"}'), *chain[1:]]
    check = ChainCheck()
    assert check.feed(tampered) is None
    broken = check.finish()
    assert broken is not None and broken.row_id == 1


def test_a_change_nobody_vouched_for_is_caught_and_a_voucher_covers_only_earlier_rows() -> None:
    rows = _chain(("case.comment", '{"note":"x"}'), ("case.claim", None))
    changed = replace(rows[0], after='{"note":"y"}')
    check = ChainCheck()
    check.feed([changed, rows[1]])
    broken = check.finish()
    assert broken is not None and broken.row_id == 1
