"""A fulfilment's tracking (ADR 0065, amended in session 15): normalised from ``fulfillments/*`` as far as it is safe to
show, kept per fulfilment on the order's state (the newest version wins, in any delivery order), stored and read
back, states stored before it decoding without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import FulfillmentChanged, OrderId, ShopDomain, StoreEvent
from opsdesk.domain.orders import OrderState, apply
from opsdesk.domain.tracking import MAX_PARCELS, MAX_TEXT, Parcel, Tracking, safe_url
from opsdesk.normalise import normalise
from opsdesk.storage.codec import decode_order, encode_order
from tests.samples import sample

SHOP, ORDER = ShopDomain("alpha.myshopify.com"), OrderId(820982911946154500)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UPS = "https://www.ups.com/WebTracking?trackNums="


def fulfilment(minutes: int, **fields: Any) -> FulfillmentChanged:
    """The sample ``fulfillments/update`` at ``minutes`` past ``AT``, with ``fields`` in its body."""
    body = sample("fulfillments/update") | {"updated_at": (AT + timedelta(minutes=minutes)).isoformat()} | fields
    [event] = normalise("fulfillments/update", SHOP, body, None)
    assert isinstance(event, FulfillmentChanged)
    return event


def fold(events: list[StoreEvent]) -> OrderState:
    state = OrderState(SHOP, ORDER)
    for event in events:
        state = apply(state, event).state
    return state


def parcel(number: str) -> dict[str, Any]:
    return {"tracking_number": number, "tracking_numbers": [number], "tracking_url": UPS + number,
            "tracking_urls": [UPS + number]}


def test_the_real_samples_tracking_is_kept_on_its_fulfilment() -> None:
    state = fold([fulfilment(0)])

    assert state.tracking == {123456: Tracking("UPS", (Parcel(
        "1z827wk74630", "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"),), AT)}


@given(st.permutations([0, 1, 2]))
def test_an_update_changes_the_number_and_an_older_one_delivered_late_does_not(order: list[int]) -> None:
    versions = [fulfilment(0, **parcel("1Z-FIRST")), fulfilment(5, **parcel("1Z-SECOND"), tracking_company="DHL"),
                fulfilment(3, **parcel("1Z-MIDDLE"))]

    state = fold([versions[i] for i in order])

    assert state.tracking == {123456: Tracking("DHL", (Parcel("1Z-SECOND", UPS + "1Z-SECOND"),),
                                               AT + timedelta(minutes=5))}


def test_a_javascript_or_other_scheme_is_no_link_and_the_number_stays() -> None:
    evil = ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
            "//evil.example/x", "/orders", "ftp://files.example/x", "https://", "https://ups.com/a b",
            "https://ups.com/\nSet-Cookie", "http://[::1"]
    event = fulfilment(0, tracking_numbers=[f"N{i}" for i in range(len(evil))], tracking_urls=evil)

    assert event.parcels == tuple(Parcel(f"N{i}", "") for i in range(len(evil)))
    assert safe_url(" HTTPS://ups.com/track?n=1 ") == "HTTPS://ups.com/track?n=1"


def test_numbers_and_names_are_one_line_capped_and_repeats_and_blanks_dropped() -> None:
    numbers = ["1Z 99\n\tX\u202e", "", "1Z 99 X", "A" * (MAX_TEXT + 1), *[f"P{i}" for i in range(20)]]
    event = fulfilment(0, tracking_numbers=numbers, tracking_urls=[], tracking_url=None,
                       tracking_company="U\x00PS " + "x" * 300)

    assert event.parcels is not None and len(event.parcels) == MAX_PARCELS
    assert event.parcels[:2] == (Parcel("1Z 99 X", ""), Parcel("P0", ""))  # the long one left out, not cut
    assert event.tracking_company == ("U PS " + "x" * 300)[:MAX_TEXT]


def test_the_singular_fields_stand_in_for_missing_lists_and_a_payload_without_tracking_keeps_what_was_known() -> None:
    old = dict.fromkeys(("tracking_numbers", "tracking_urls"))
    singular = fulfilment(0, **old)
    silent = {key: value for key, value in sample("fulfillments/update").items()
              if not key.startswith("tracking_") or key == "tracking_company"}
    body = silent | {"updated_at": (AT + timedelta(minutes=9)).isoformat()}
    [sweep] = normalise("fulfillments/update", SHOP, body, None)

    state = fold([singular, sweep])

    assert sweep.parcels is None  # type: ignore[attr-defined]
    assert state.tracking[123456].number == "1z827wk74630" and state.tracking[123456].at == AT


def test_a_newer_update_without_tracking_clears_it() -> None:
    cleared = fulfilment(9, tracking_number=None, tracking_numbers=[], tracking_url=None, tracking_urls=[],
                         tracking_company=None)

    state = fold([fulfilment(0), cleared])

    assert state.tracking == {123456: Tracking("", (), AT + timedelta(minutes=9))}
    assert not state.tracking[123456].known


@pytest.mark.parametrize(("field", "value"), [("tracking_numbers", "1Z"), ("tracking_urls", [5]),
                                              ("tracking_number", 5)])
def test_tracking_of_the_wrong_type_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidPayload, match=rf"'{field}(\[0\])?' is not a"):
        fulfilment(0, **{"tracking_numbers": None, field: value})


def test_the_codec_keeps_tracking_and_reads_a_state_stored_before_it_as_none() -> None:
    state = fold([fulfilment(0, **parcel("1Z-A") | {"tracking_urls": [UPS + "1Z-A", UPS + "1Z-B"]})])
    text = encode_order(state)

    back = decode_order(SHOP, ORDER, text, None, None, state.last_event_at)
    before = orjson.loads(text)
    del before["tracking"]
    old = decode_order(SHOP, ORDER, orjson.dumps(before).decode(), None, None, state.last_event_at)

    assert back == state and back.tracking[123456].parcels == (Parcel("1Z-A", UPS + "1Z-A"), Parcel("", UPS + "1Z-B"))
    assert old.tracking == {} and old.fulfillments == state.fulfillments
