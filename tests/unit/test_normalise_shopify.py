"""Shopify webhooks become domain events: every 2026-07 sample topic, every live exemplar, fulfilments.

The other topics' cases are in ``test_normalise_shopify_orders``, ``_returns``, ``_shop`` and ``_refused``.
"""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsdesk.domain.errors import InvalidPayload
from opsdesk.domain.events import (
    FulfillmentChanged,
    FulfillmentEventRecorded,
    FulfillmentHeld,
    InventoryLevelChanged,
    OrderId,
)
from opsdesk.domain.tracking import Parcel
from opsdesk.normalise import HANDLED_TOPICS, IGNORED_TOPICS, Ignored, normalise
from tests.unit.shopify_samples import (
    EXEMPLARS,
    NEW_YEAR,
    SHOP,
    TRIGGERED,
    UNREADABLE_EXEMPLARS,
    assert_events,
    exemplar_files,
    exemplar_topic,
    realistic,
    sample,
    samples,
)

# -- every topic -------------------------------------------------------------------------------------


def test_handled_and_ignored_topics_are_disjoint_and_cover_every_sample_topic() -> None:
    assert len(samples()) == 221
    assert not HANDLED_TOPICS & IGNORED_TOPICS.keys()
    assert HANDLED_TOPICS | IGNORED_TOPICS.keys() == samples().keys()
    assert all(reason.strip() for reason in IGNORED_TOPICS.values())


@pytest.mark.parametrize("topic", sorted(samples()))
def test_every_sample_becomes_events_or_is_ignored_on_purpose(topic: str) -> None:
    result = normalise(topic, SHOP, sample(topic), TRIGGERED)

    if topic in HANDLED_TOPICS:
        assert_events(result)
    else:
        assert result == Ignored(IGNORED_TOPICS[topic])


@pytest.mark.parametrize("name", exemplar_files())
def test_every_live_exemplar_becomes_events_or_is_ignored(name: str) -> None:
    topic = exemplar_topic(name)
    payload = realistic(json.loads((EXEMPLARS / name).read_text()))

    result = normalise(topic, SHOP, payload, TRIGGERED)

    if topic in HANDLED_TOPICS:
        assert_events(result)
    else:
        assert result == Ignored(IGNORED_TOPICS[topic])


@pytest.mark.parametrize("name", sorted(UNREADABLE_EXEMPLARS))
def test_anonymised_amounts_are_refused_naming_the_field(name: str) -> None:
    topic = exemplar_topic(name)
    payload = json.loads((EXEMPLARS / name).read_text())

    with pytest.raises(
        InvalidPayload, match=rf"^{topic}: field '[a-z_\[\]0-9.]+' is not an amount: 'example string'"
    ):
        normalise(topic, SHOP, payload, TRIGGERED)


@pytest.mark.parametrize("name", sorted(set(exemplar_files()) - UNREADABLE_EXEMPLARS))
def test_other_exemplars_read_as_anonymised(name: str) -> None:
    topic = exemplar_topic(name)
    payload = json.loads((EXEMPLARS / name).read_text())

    result = normalise(topic, SHOP, payload, TRIGGERED)

    assert isinstance(result, tuple) or result == Ignored(IGNORED_TOPICS[topic])


def test_exemplar_timestamps_with_a_space_and_z_are_utc() -> None:
    payload = json.loads((EXEMPLARS / "2025-04/inventory_levels/1.json").read_text())

    (event,) = assert_events(normalise("inventory_levels/update", SHOP, payload, None))

    assert event == InventoryLevelChanged(
        SHOP, datetime(2019, 1, 1, tzinfo=UTC), inventory_item_id=123, location_id=123, available=123
    )


def test_unknown_topic_is_ignored_not_an_error() -> None:
    assert normalise("orders/teleported", SHOP, {}, None) == Ignored("unknown topic 'orders/teleported'")


# -- fulfilments -------------------------------------------------------------------------------------


def test_fulfillment_created_sample() -> None:
    result = normalise("fulfillments/create", SHOP, sample("fulfillments/create"), TRIGGERED)

    assert result == (
        FulfillmentChanged(
            SHOP,
            NEW_YEAR,
            fulfillment_id=123456,
            order=OrderId(820982911946154500),
            status="pending",
            shipment_status="",
            tracking_company="UPS",
            location_id=None,
            created=True,
            parcels=(Parcel("1z827wk74630",
                            "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"),),
        ),
    )


def test_fulfillment_event_keeps_its_carrier_status_and_scan_time() -> None:
    payload = sample("fulfillment_events/create") | {"happened_at": "2021-12-31T18:00:00-05:00"}

    result = normalise("fulfillment_events/create", SHOP, payload, TRIGGERED)

    assert result == (
        FulfillmentEventRecorded(
            SHOP,
            datetime(2021, 12, 31, 23, 0, tzinfo=UTC),
            event_id=1234567,
            fulfillment_id=123456,
            order=OrderId(820982911946154500),
            status="in_transit",
        ),
    )


def test_fulfillment_event_with_a_status_shopify_adds_later_is_kept() -> None:
    payload = sample("fulfillment_events/create") | {"status": "carrier_teleported"}

    (event,) = assert_events(normalise("fulfillment_events/create", SHOP, payload, TRIGGERED))

    assert isinstance(event, FulfillmentEventRecorded)
    assert event.status == "carrier_teleported"


def test_first_hold_on_a_fulfillment_order_is_dated_by_the_delivery() -> None:
    result = normalise(
        "fulfillment_orders/placed_on_hold", SHOP, sample("fulfillment_orders/placed_on_hold"), TRIGGERED
    )

    assert result == (
        FulfillmentHeld(
            SHOP,
            TRIGGERED,
            fulfillment_order_gid="gid://shopify/FulfillmentOrder/1",
            hold_gid="gid://shopify/FulfillmentHold/1",
            reason="other",
            note="example",
        ),
    )


def test_hold_added_has_the_same_key_as_the_placed_on_hold_it_duplicates() -> None:
    triggered = datetime(2026, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

    (added,) = assert_events(
        normalise("fulfillment_holds/added", SHOP, sample("fulfillment_holds/added"), triggered)
    )
    (placed,) = assert_events(
        normalise(
            "fulfillment_orders/placed_on_hold", SHOP, sample("fulfillment_orders/placed_on_hold"), TRIGGERED
        )
    )

    assert added.occurred_at == TRIGGERED
    assert added.key == placed.key


def test_undated_payload_without_a_trigger_time_is_refused() -> None:
    with pytest.raises(InvalidPayload, match=r"fulfillment_holds/added: .*no trigger time"):
        normalise("fulfillment_holds/added", SHOP, sample("fulfillment_holds/added"), None)


# -- purity ------------------------------------------------------------------------------------------


def test_the_normaliser_imports_only_the_standard_library_and_the_domain() -> None:
    package = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "normalise"
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                ours = name.startswith(("opsdesk.domain", "opsdesk.normalise"))
                assert ours or top in sys.stdlib_module_names, f"{module.name} imports {name}"
                assert top not in {"logging", "os", "time"}, f"{module.name} imports {name}"
